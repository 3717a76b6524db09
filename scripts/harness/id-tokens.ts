/**
 * Unsigned ID tokens for callables served with the emulator's `skipTokenVerification`
 * debug feature (what the Functions emulator itself does). Production verifies signatures.
 */
export function unsignedIdToken(uid: string, claims: Record<string, unknown> = {}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const nowS = Math.floor(Date.now() / 1000);
  const payload = {
    iss: "https://securetoken.google.com/demo-voice-cache",
    aud: "demo-voice-cache",
    sub: uid,
    user_id: uid,
    iat: nowS,
    exp: nowS + 3600,
    ...claims,
  };
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(payload)}.unsigned`;
}

/** What the Functions emulator sets so callables accept emulator-issued (unsigned) tokens. */
export const emulatorDebugEnv = {
  FIREBASE_DEBUG_MODE: "true",
  FIREBASE_DEBUG_FEATURES: JSON.stringify({ skipTokenVerification: true }),
};
