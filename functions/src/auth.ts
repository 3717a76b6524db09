import { CallableRequest, HttpsError } from "firebase-functions/v2/https";

/** The caller's uid, or `unauthenticated`. */
export function requireUid(request: CallableRequest<unknown>): string {
  const uid = request.auth?.uid;
  if (!uid) throw new HttpsError("unauthenticated", "Sign in to call this function.");
  return uid;
}

/** The caller's uid when the ID token carries the custom claim `admin: true`, else an error. */
export function requireAdmin(request: CallableRequest<unknown>): string {
  const uid = requireUid(request);
  if (request.auth?.token?.admin !== true) {
    throw new HttpsError("permission-denied", "This function is for administrators only.");
  }
  return uid;
}
