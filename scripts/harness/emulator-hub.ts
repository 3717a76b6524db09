/**
 * The emulator hub's controls that the harness uses (firebase-tools' hub REST API).
 */

/**
 * Pauses or resumes the Functions emulator's background (Firestore) triggers: while paused,
 * the Firestore emulator's events are not delivered at all (not queued), so a spec or the
 * benchmark delivers what it needs itself.
 */
export async function setBackgroundTriggers(hubUrl: string, enabled: boolean): Promise<void> {
  const route = enabled ? "enableBackgroundTriggers" : "disableBackgroundTriggers";
  const response = await fetch(`${hubUrl}/functions/${route}`, { method: "PUT" });
  if (!response.ok) throw new Error(`emulator hub ${route}: ${response.status} ${await response.text()}`);
}
