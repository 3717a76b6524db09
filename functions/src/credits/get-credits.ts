/** `getCredits`: the caller's plan and remaining seconds, from the same cache as usage recording. */
import { CallableRequest } from "firebase-functions/https";
import { requireUid } from "../auth";
import { requireNoData } from "../errors";
import { currentCredits } from "./credit-cache";
import { Plan } from "./plans";

export async function getCreditsHandler(request: CallableRequest<unknown>): Promise<{ remainingSeconds: number | null; plan: Plan }> {
  const uid = requireUid(request);
  requireNoData(request.data);
  const { remainingSeconds, plan } = await currentCredits(uid);
  return { remainingSeconds, plan };
}
