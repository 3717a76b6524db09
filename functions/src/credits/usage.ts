/**
 * `recordTranscriptionUsage`, called about once a minute by each live transcription session,
 * on any instance: one atomic commit to this hour's usage document (with the report's dedupe
 * record when it names a `reportId`), then the credits answer: where a Redis command costs less
 * than a Firestore read, one count into the fleet's figure (credits/ledger.ts) and the plan from
 * the cache; otherwise the month's sum read after the commit (credits/credit-cache.ts).
 *
 * A report with a `reportId` is applied at most once: its dedupe document is created in the
 * same commit as the increment, so a second delivery (concurrent, or a retry after an answer
 * the client never got, or after `unavailable` whose commit landed after all) fails that
 * commit as a whole and changes nothing (the same id with other content is refused with
 * `already-exists`). Firestore decides, not Redis: the failure to survive
 * is a commit the caller was told had failed. The duplicate then re-sends the original's count
 * (the ledger ignores a report it has seen), so a count lost with its process is completed.
 */
import { randomUUID } from "node:crypto";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import { CallableRequest, HttpsError } from "firebase-functions/https";
import { z } from "zod";
import { requireUid } from "../auth";
import { UtcMonth, utcMonthOf } from "../common/utc-month";
import { parseData } from "../errors";
import { firestore, meterSnapshots, meterWrites } from "../firestore";
import { instanceRuntime } from "../instance/runtime";
import * as logs from "../logs";
import { currentCredits, noteLedgerFailure, noteUsageWritten, usageLedger, UserCredits } from "./credit-cache";
import { CountAnswer, CountedReport, monthKey, UsageLedger } from "./ledger";
import { timestampUs } from "./remaining";
import { freemiumThresholdSeconds, thresholdReached } from "./threshold";
import { hourlyUsageDocId, wallNowMs } from "./time";

/** Longer than the once-a-minute cadence with room for a late or merged report, not more. */
export const maxSecondsPerCall = 3600;
export const maxWordsPerCall = 100_000;
/**
 * How long a `reportId` is remembered: longer than a client retries a report (a day or two
 * offline). The dedupe record carries `expires_at`, for a Firestore TTL policy to delete it
 * (firestore.indexes.json); until then a retry is still recognised.
 */
export const reportDedupeWindowMs = 48 * 60 * 60_000;

// Part of a Redis key and a document id: short, and no separators that could reach another key space.
const clientIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be 1-128 characters of A-Z a-z 0-9 _ -");

export const usageRequestSchema = z
  .object({
    sessionId: clientIdSchema,
    /** Names one report; the client sends the same one on every retry of it (e.g. `<sessionId>-<sequence>`). */
    reportId: clientIdSchema.optional(),
    transcriptionSeconds: z.number().int().min(0).max(maxSecondsPerCall),
    wordsTranscribed: z.number().int().min(0).max(maxWordsPerCall).optional(),
  })
  .strict();
export type UsageRequest = z.infer<typeof usageRequestSchema>;

/** `users/{uid}/usage_reports/{reportId}`: a report applied, kept for `reportDedupeWindowMs`. */
export const usageReportSchema = z.object({
  session_id: clientIdSchema,
  /** The hourly usage document the report went to (so a retry counts it in the right month). */
  hour_doc_id: z.string().regex(/^\d{4}-\d{2}-\d{2}-\d{2}$/),
  transcription_seconds: z.number().int().min(0),
  words_transcribed: z.number().int().min(0),
  expires_at: z.instanceof(Timestamp),
});
export type UsageReport = z.infer<typeof usageReportSchema>;

export const usageReportsCollection = "usage_reports";

export interface UsageResult {
  remainingSeconds: number | null;
  hasCredits: boolean;
  freemiumThresholdReached: boolean;
  action: "setup_on_device_stt" | "none";
  /** Present (true) when this delivery repeats a report already applied: it counted nothing. */
  duplicate?: true;
}

/**
 * The usage write for one report: both counters as server-side increments, merged into the
 * hour's document (created by the first report of the hour). Exported so a test can check
 * the write itself, as well as its effect on the server.
 */
export function hourlyUsageWrite(at: Date, seconds: number, words: number): { id: string; data: Record<string, unknown> } {
  const id = hourlyUsageDocId(at);
  return {
    id,
    data: {
      transcription_seconds: FieldValue.increment(seconds),
      words_transcribed: FieldValue.increment(words),
      year: at.getUTCFullYear(),
      month: at.getUTCMonth() + 1,
      day: at.getUTCDate(),
      hour: at.getUTCHours(),
      id,
      // The instance's clock, not serverTimestamp(): the same clock chose the hour, and a
      // third transform would make the write costlier for no gain.
      last_updated: Timestamp.fromMillis(at.getTime()),
    },
  };
}

/**
 * A `reportId` already stored for a report with other content (seconds, words or session): an
 * app that reuses ids would otherwise lose the second report without a word, so it is refused,
 * the way Stripe refuses an idempotency key reused with other parameters.
 */
export class ReportIdReusedError extends Error {
  constructor(
    readonly reportId: string,
    /** The request fields that differ from the stored report. */
    readonly differs: string[],
  ) {
    super(`reportId "${reportId}" was already used for another report (${differs.join(", ")} differ); send a new reportId`);
    this.name = "ReportIdReusedError";
  }
}

/** What of `request` differs from the report stored under its reportId (empty: the same report, resent). */
function contentDiffers(request: UsageRequest, stored: UsageReport): string[] {
  const differs: string[] = [];
  if (stored.session_id !== request.sessionId) differs.push("sessionId");
  if (stored.transcription_seconds !== request.transcriptionSeconds) differs.push("transcriptionSeconds");
  if (stored.words_transcribed !== (request.wordsTranscribed ?? 0)) differs.push("wordsTranscribed");
  return differs;
}

/** A report as committed (or found committed before), ready to count. */
interface RecordedReport extends CountedReport {
  duplicate: boolean;
  /** This instance's write sequence number, when this delivery wrote it. */
  writeSeq?: number;
}

const usageDoc = (uid: string, hourDocId: string) => firestore().collection("users").doc(uid).collection("hourly_usage").doc(hourDocId);
const reportDoc = (uid: string, reportId: string) => firestore().collection("users").doc(uid).collection(usageReportsCollection).doc(reportId);

/** gRPC ALREADY_EXISTS: the commit's `create` found the dedupe record. */
const isAlreadyExists = (error: unknown) => (error as { code?: unknown } | null)?.code === 6;

function monthOfHourDocId(hourDocId: string): UtcMonth {
  return { year: Number(hourDocId.slice(0, 4)), month: Number(hourDocId.slice(5, 7)) };
}

/**
 * Commits the report: the usage increment alone, or with its dedupe record in one commit.
 * A report already applied is read back instead (its seconds and commit time, as first stored).
 */
export async function commitReport(uid: string, request: UsageRequest, at: Date): Promise<RecordedReport> {
  const seconds = request.transcriptionSeconds;
  const { id, data } = hourlyUsageWrite(at, seconds, request.wordsTranscribed ?? 0);
  const month = utcMonthOf(at);
  if (request.reportId === undefined) {
    const written = await usageDoc(uid, id).set(data, { merge: true });
    meterWrites("hourly_usage");
    return {
      uid,
      month,
      reportKey: `w:${randomUUID()}`,
      seconds,
      committedAtUs: timestampUs(written.writeTime),
      duplicate: false,
      writeSeq: noteUsageWritten(),
    };
  }
  const ref = reportDoc(uid, request.reportId);
  const reportKey = `r:${request.reportId}`;
  const record: UsageReport = usageReportSchema.parse({
    session_id: request.sessionId,
    hour_doc_id: id,
    transcription_seconds: seconds,
    words_transcribed: request.wordsTranscribed ?? 0,
    expires_at: Timestamp.fromMillis(at.getTime() + reportDedupeWindowMs),
  });
  try {
    const [written] = await firestore().batch().create(ref, record).set(usageDoc(uid, id), data, { merge: true }).commit();
    meterWrites(usageReportsCollection);
    meterWrites("hourly_usage");
    return { uid, month, reportKey, seconds, committedAtUs: timestampUs(written!.writeTime), duplicate: false, writeSeq: noteUsageWritten() };
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const stored = await ref.get();
  meterSnapshots([stored]);
  // Created a moment ago and kept for days: missing now means a retry can decide (unavailable).
  if (!stored.exists || stored.createTime === undefined) throw new Error(`usage report ${request.reportId} exists and cannot be read`);
  const original = usageReportSchema.parse(stored.data());
  const differs = contentDiffers(request, original);
  if (differs.length > 0) throw new ReportIdReusedError(request.reportId, differs);
  return {
    uid,
    month: monthOfHourDocId(original.hour_doc_id),
    reportKey,
    seconds: original.transcription_seconds,
    committedAtUs: timestampUs(stored.createTime),
    duplicate: true,
  };
}

/**
 * Counts the report into the fleet's figure and decides the session's threshold there, in one
 * command (with the rebuild of a figure this request's fetch read from Firestore).
 * Undefined when there is no fleet figure to answer from (the ledger keeps none, or failed:
 * then the report is added to this instance's own figure).
 */
async function countReport(
  ledger: UsageLedger,
  credits: UserCredits,
  sessionId: string,
  report: RecordedReport | undefined,
): Promise<{ credits: UserCredits; answer: CountAnswer | undefined }> {
  const { uid, month } = credits;
  const limitSeconds = credits.limitSeconds!;
  // A retry of last month's report changes nothing this month's figure shows.
  const counted = report && monthKey(report.month) === monthKey(month) ? report : undefined;
  const ask = { sessionId, limitSeconds, thresholdSeconds: freemiumThresholdSeconds, mayFire: !report?.duplicate };
  // A duplicate was written by another delivery: this one has nothing of its own to add locally.
  const ownWrite = counted && !counted.duplicate ? counted : undefined;
  let rebuild = credits.takeRebuild();
  try {
    let answer = await ledger.count(uid, month, counted, ask, rebuild);
    if (answer !== undefined && answer.usage === undefined) {
      // The month's figure is gone (Redis lost it): rebuild it from a new Firestore read, with
      // the count again: the report is then in the read's sum or in the log, once either way.
      credits = await currentCredits(uid, month, { refresh: true, rebuild: false });
      rebuild = credits.takeRebuild();
      answer = await ledger.count(uid, month, counted, ask, rebuild);
    }
    if (answer?.usage === undefined) {
      credits.addUncounted(ownWrite?.seconds ?? 0, ownWrite?.writeSeq);
      return { credits, answer: undefined };
    }
    credits.noteCounted(answer.usage);
    return { credits, answer };
  } catch (error) {
    noteLedgerFailure(uid, error);
    credits.fallBack(rebuild?.usedSeconds);
    credits.addUncounted(ownWrite?.seconds ?? 0, ownWrite?.writeSeq);
    return { credits, answer: undefined };
  }
}

/** commitReport, with a reused reportId refused as `already-exists` (nothing was written). */
async function commitReportOrRefuse(uid: string, request: UsageRequest, at: Date): Promise<RecordedReport> {
  try {
    return await commitReport(uid, request, at);
  } catch (error) {
    if (!(error instanceof ReportIdReusedError)) throw error;
    logs.usageReportIdReused({ uid, reportId: error.reportId, differs: error.differs });
    throw new HttpsError("already-exists", error.message);
  }
}

export async function recordTranscriptionUsageHandler(request: CallableRequest<unknown>): Promise<UsageResult> {
  const uid = requireUid(request);
  const data = parseData(usageRequestSchema, request.data);
  const at = new Date(wallNowMs(instanceRuntime().clock));
  const report = data.transcriptionSeconds > 0 || (data.wordsTranscribed ?? 0) > 0 ? await commitReportOrRefuse(uid, data, at) : undefined;
  const duplicate = report?.duplicate === true;
  let credits = await currentCredits(uid, utcMonthOf(at), { rebuild: false });
  let reached = false;
  if (credits.limitSeconds !== null) {
    // No ledger: the answer's sum was read after the commit, and only the threshold is left to decide.
    const ledger = credits.monthSum === undefined ? usageLedger() : undefined;
    const counted = ledger === undefined ? undefined : await countReport(ledger, credits, data.sessionId, report);
    if (counted !== undefined) credits = counted.credits;
    if (counted?.answer !== undefined) reached = counted.answer.thresholdFired;
    else if (!duplicate) reached = await thresholdReached(uid, data.sessionId, credits.remainingSeconds(), credits.state);
  }
  const remaining = credits.remainingSeconds();
  return {
    remainingSeconds: remaining,
    hasCredits: remaining === null || remaining > 0,
    freemiumThresholdReached: reached,
    action: reached ? "setup_on_device_stt" : "none",
    ...(duplicate ? { duplicate: true as const } : {}),
  };
}
