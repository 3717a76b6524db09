import { getApps, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { CallableRequest, HttpsError } from "firebase-functions/https";

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

/**
 * Verifies an ID token for an onRequest function. Under the emulator suite's
 * `skipTokenVerification` debug feature (set only by the Functions emulator and our test
 * harness, never in production) the token is decoded without a signature check, exactly as
 * firebase-functions does for callables there.
 */
export async function verifyIdToken(idToken: string): Promise<{ uid: string; admin?: unknown }> {
  if (process.env.FIREBASE_DEBUG_MODE === "true" && debugFeatures().skipTokenVerification === true) {
    const payload = JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString("utf8")) as { sub?: unknown; admin?: unknown };
    if (typeof payload.sub !== "string" || payload.sub === "") throw new Error("token has no subject");
    return { uid: payload.sub, admin: payload.admin };
  }
  const decoded = await getAuth(getApps()[0] ?? initializeApp()).verifyIdToken(idToken);
  return { uid: decoded.uid, admin: decoded.admin };
}

function debugFeatures(): Record<string, unknown> {
  try {
    return JSON.parse(process.env.FIREBASE_DEBUG_FEATURES ?? "{}") as Record<string, unknown>;
  } catch {
    return {};
  }
}
