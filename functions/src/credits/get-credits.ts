/** `getCredits`: the caller's plan and remaining seconds: the fleet's figure, from the same cache as usage recording. */
import { CallableRequest } from "firebase-functions/https";
import { requireUid } from "../auth";
import { utcMonthOf } from "../common/utc-month";
import { requireNoData } from "../errors";
import { instanceRuntime } from "../instance/runtime";
import { currentCredits } from "./credit-cache";
import { Plan } from "./plans";
import { wallNowMs } from "./time";

export async function getCreditsHandler(request: CallableRequest<unknown>): Promise<{ remainingSeconds: number | null; plan: Plan }> {
  const uid = requireUid(request);
  requireNoData(request.data);
  const credits = await currentCredits(uid, utcMonthOf(new Date(wallNowMs(instanceRuntime().clock))));
  return { remainingSeconds: credits.remainingSeconds(), plan: credits.plan };
}
