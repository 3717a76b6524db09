/**
 * The local emulators as an app's client reaches them: password sign-in on the Auth emulator
 * (the Identity Toolkit REST API) and the callable protocol over HTTP. For `npm run demo`,
 * the seed and the launcher's end-to-end spec.
 */
import { CallableError } from "../harness/instance";

export interface SignedIn {
  uid: string;
  idToken: string;
}

/** Signs in on the Auth emulator at `authEmulatorHost` (`127.0.0.1:9099`); rejects unless it answers 200 with a token. */
export async function signInWithPassword(authEmulatorHost: string, email: string, password: string): Promise<SignedIn> {
  const response = await fetch(`http://${authEmulatorHost}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`Auth emulator sign-in of ${email} answered ${response.status}: ${text}`);
  const body = JSON.parse(text) as { localId?: unknown; idToken?: unknown };
  if (typeof body.localId !== "string" || typeof body.idToken !== "string")
    throw new Error(`Auth emulator sign-in of ${email}: no localId or idToken in ${text}`);
  return { uid: body.localId, idToken: body.idToken };
}

// A callable's `error` answer (status, message, HTTP status): one class with the instance
// processes' client, so `instanceof` holds for errors from either.
export { CallableError };

/**
 * Calls the callable `<baseUrl>/<name>` with `data`, as the signed-in user when given an ID
 * token. Resolves with `result` (an HTTP 200), rejects with a CallableError for an `error`
 * answer, and with a plain Error for anything that is not the callable protocol.
 */
export async function callCallable<T = unknown>(baseUrl: string, name: string, data: unknown, idToken?: string): Promise<T> {
  const response = await fetch(`${baseUrl}/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(idToken ? { authorization: `Bearer ${idToken}` } : {}) },
    body: JSON.stringify({ data }),
  });
  const text = await response.text();
  let body: { result?: T; error?: { status?: string; message?: string } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`${name} answered ${response.status} outside the callable protocol: ${text.slice(0, 300)}`);
  }
  if (body.error) throw new CallableError(body.error.status ?? "UNKNOWN", body.error.message ?? "", response.status);
  if (response.status !== 200 || !("result" in body)) throw new Error(`${name} answered ${response.status} without a result: ${text.slice(0, 300)}`);
  return body.result as T;
}
