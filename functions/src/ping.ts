import { CallableRequest } from "firebase-functions/https";
import { requireUid } from "./auth";

/** Smallest end-to-end check of the stack: who does the backend think is calling? */
export function pingHandler(request: CallableRequest<unknown>): { uid: string } {
  return { uid: requireUid(request) };
}
