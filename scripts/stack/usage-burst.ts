/**
 * `npm run burst`: what the local stack takes. One user's live sessions (6 by default) each
 * send a usage report every second (a live session sends one a minute; this is a burst) for
 * 12 s, through the Firebase JS SDK, each report resent with backoff until it is answered.
 * Then it checks that every report was acknowledged, stored once (the sum of the user's
 * hourly usage) and counted once: `getCredits` and `recordTranscriptionUsage` answer the same
 * fleet figure, the plan's limit less what was sent. Against the running `npm start`
 * (.local/stack.json), or any stack a spec started.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Firestore } from "firebase-admin/firestore";
import { errorMessage } from "../../functions/src/error-message";
import { signUpLocalApp } from "./app-client";
import { firestoreOn } from "./firestore-on";
import { firebaseAdminApp } from "./functions-deps";
import { readStackInfo } from "./stack-info";

export interface BurstStack {
  projectId: string;
  region: string;
  functionsEmulatorUrl: string;
  authEmulatorHost: string;
  firestoreHost: string;
}

export interface BurstOptions {
  /** Concurrent sessions of the one user (default 6). */
  sessions?: number;
  /** Reports each session sends (default 12). */
  reportsPerSession?: number;
  /** Between one session's reports (ms, default 1,000). */
  intervalMs?: number;
  /** Each report's seconds (default 20: 72 reports stay under the basic plan's 1,800 s). */
  transcriptionSeconds?: number;
}

export interface BurstResult {
  uid: string;
  reports: number;
  acknowledged: number;
  /** Attempts in all, retries included. */
  attempts: number;
  /** Answers with `duplicate: true` (a retry whose earlier delivery had been stored). */
  duplicates: number;
  /** Reports that were never acknowledged, with the last error. */
  failures: string[];
  /** Per report, from its first send to its answer (ms). */
  latencyMs: { p50: number; p99: number; max: number };
  /** The user's hourly usage in Firestore, summed. */
  storedSeconds: number;
  sentSeconds: number;
  /** The fleet's figure, as each callable answers it afterwards. */
  getCreditsRemaining: number | null;
  recordUsageRemaining: number | null;
  durationMs: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** A user's transcription seconds as stored: the sum over their hourly usage documents. */
export async function storedTranscriptionSeconds(db: Firestore, uid: string): Promise<number> {
  const hours = await db.collection(`users/${uid}/hourly_usage`).get();
  return hours.docs.reduce((sum, hour) => sum + Number(hour.get("transcription_seconds")), 0);
}

export async function runUsageBurst(stack: BurstStack, options: BurstOptions = {}): Promise<BurstResult> {
  const sessions = options.sessions ?? 6;
  const reportsPerSession = options.reportsPerSession ?? 12;
  const intervalMs = options.intervalMs ?? 1_000;
  const transcriptionSeconds = options.transcriptionSeconds ?? 20;
  const app = await signUpLocalApp(stack, "burst");
  const { app: adminApp, db } = firestoreOn(stack.firestoreHost, stack.projectId, `burst-${randomUUID().slice(0, 8)}`);
  const startedAt = Date.now();
  try {
    const latencies: number[] = [];
    const failures: string[] = [];
    let attempts = 0;
    let duplicates = 0;
    const report = async (sessionId: string, sequence: number) => {
      const sentAt = Date.now();
      const reportId = `${sessionId}-${sequence}`;
      try {
        const answer = await app.call<{ duplicate?: true }>("recordTranscriptionUsage", { sessionId, reportId, transcriptionSeconds });
        attempts += answer.attempts;
        if (answer.data.duplicate) duplicates++;
        latencies.push(Date.now() - sentAt);
      } catch (error) {
        failures.push(`${reportId}: ${errorMessage(error)}`);
      }
    };
    // Sessions start at random moments of the first interval, as live sessions do; each then
    // sends on its own clock, whether or not its last report has been answered.
    const sent: Promise<void>[] = [];
    await Promise.all(
      Array.from({ length: sessions }, async (_, s) => {
        const sessionId = `burst-${s}-${randomUUID().slice(0, 6)}`;
        await sleep(Math.random() * intervalMs);
        for (let i = 0; i < reportsPerSession; i++) {
          sent.push(report(sessionId, i));
          if (i < reportsPerSession - 1) await sleep(intervalMs);
        }
      }),
    );
    await Promise.all(sent);
    const durationMs = Date.now() - startedAt;
    const storedSeconds = await storedTranscriptionSeconds(db, app.uid);
    const credits = await app.call<{ remainingSeconds: number | null }>("getCredits", {});
    // Nothing to add (0 s, 0 words): it writes nothing and answers the figure.
    const figure = await app.call<{ remainingSeconds: number | null }>("recordTranscriptionUsage", { sessionId: "burst-check", transcriptionSeconds: 0 });
    latencies.sort((x, y) => x - y);
    return {
      uid: app.uid,
      reports: sessions * reportsPerSession,
      acknowledged: latencies.length,
      attempts,
      duplicates,
      failures,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
      storedSeconds,
      sentSeconds: sessions * reportsPerSession * transcriptionSeconds,
      getCreditsRemaining: credits.data.remainingSeconds,
      recordUsageRemaining: figure.data.remainingSeconds,
      durationMs,
    };
  } finally {
    await app.close();
    await firebaseAdminApp().deleteApp(adminApp);
  }
}

async function main() {
  // Offline: the Google auth library would otherwise probe for a metadata server (and warn).
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const stack = readStackInfo();
  if (stack === undefined) throw new Error("no running local stack (.local/stack.json): run `npm start` first");
  console.log(`Burst: 6 sessions of one new user, a report every second each for 12 s, against ${stack.functionsEmulatorUrl} ...`);
  const result = await runUsageBurst(stack);
  console.log(JSON.stringify(result, null, 2));
  const held =
    result.acknowledged === result.reports &&
    result.storedSeconds === result.sentSeconds &&
    result.getCreditsRemaining === result.recordUsageRemaining &&
    result.failures.length === 0;
  console.log(
    held
      ? `Held: ${result.acknowledged}/${result.reports} acknowledged in ${result.attempts} attempts (p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms), ${result.storedSeconds} s stored for ${result.sentSeconds} s sent, both callables answer ${result.getCreditsRemaining} s.`
      : "NOT held: see the figures above.",
  );
  process.exit(held ? 0 : 1);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(errorMessage(error));
    process.exit(1);
  });
}
