/**
 * Mentor notification frequency: read about once a second per live stream, changed rarely.
 * Served from a per-user module-scope cache, invalidated by the `mentor:{uid}` marker, which the
 * set bumps right after its commit (and the `users/{uid}` trigger for writes made elsewhere;
 * the instance that handles a set drops its entry at once). Its TTL is the markers'
 * safety net; while markers cannot be read an entry is served at most 30 s after its fetch.
 * The source is one document: an instance too quiet for a poll to cost a request less than one
 * read reads it when a poll is due, instead of polling (cache/coherent-cache.ts, readThroughUsd).
 */
import { CallableRequest } from "firebase-functions/https";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import { requireUid } from "../auth";
import { cacheNames } from "../cache/names";
import { markerGuardedTtlMs } from "../cache/settings";
import { parseData, requireNoData } from "../errors";
import { firestore, getDocuments, meterWrites } from "../firestore";
import { createCache } from "../instance/runtime";
import { firestoreReadUsd } from "../prices";
import * as logs from "../logs";
import { bumpAfterCommit, writeChangeKey } from "../redis/change-bumps";
import { scopes } from "../redis/markers";

export const mentorFrequencyField = "mentor_notification_frequency";
export const defaultMentorFrequency = 0;
export const maxMentorFrequency = 5;

const frequencySchema = z.number().int().min(0).max(maxMentorFrequency);

/** The contract's bound on a frequency served while markers cannot be read. */
export const mentorUnverifiedMaxAgeMs = 30_000;

const frequencyCache = createCache<number>({
  name: cacheNames.mentorFrequency,
  ttlMs: markerGuardedTtlMs,
  unverifiedMaxAgeMs: mentorUnverifiedMaxAgeMs,
  maxEntries: 100_000,
  maxBytes: 16 * 1024 * 1024,
  // One document read: while this instance serves too few requests for a poll to cost less
  // than that a request, a due lookup reads the document instead of polling.
  readThroughUsd: firestoreReadUsd,
});

// Log a bad stored value once per user per instance, not once per read.
const reportedBadValues = new LRUCache<string, true>({ max: 10_000 });

function cacheKey(uid: string): string {
  return `mentor:${uid}`;
}

async function readFrequency(uid: string): Promise<number> {
  const ref = firestore().collection("users").doc(uid);
  // Only this field travels (a field mask), whatever else the user document holds.
  const [snapshot] = await getDocuments([ref], { fieldMask: [mentorFrequencyField] });
  const stored: unknown = snapshot?.get(mentorFrequencyField);
  if (stored === undefined || stored === null) return defaultMentorFrequency;
  const parsed = frequencySchema.safeParse(stored);
  if (parsed.success) return parsed.data;
  if (!reportedBadValues.has(uid)) {
    reportedBadValues.set(uid, true);
    logs.invalidStoredMentorFrequency({ uid, stored: String(stored) });
  }
  return defaultMentorFrequency;
}

const setRequest = z.object({ frequency: frequencySchema }).strict();

export async function getMentorNotificationFrequencyHandler(request: CallableRequest<unknown>): Promise<{ frequency: number }> {
  const uid = requireUid(request);
  requireNoData(request.data);
  const frequency = await frequencyCache.get(cacheKey(uid), [scopes.mentor(uid)], () => readFrequency(uid));
  return { frequency };
}

export async function setMentorNotificationFrequencyHandler(request: CallableRequest<unknown>): Promise<{ frequency: number }> {
  const uid = requireUid(request);
  const { frequency } = parseData(setRequest, request.data);
  const written = await firestore()
    .collection("users")
    .doc(uid)
    .set({ [mentorFrequencyField]: frequency }, { merge: true });
  meterWrites("users");
  // Read-your-writes on this instance; the others follow the marker, bumped here right after
  // the commit (the users/{uid} trigger names the same change and bumps nothing more).
  frequencyCache.invalidate(cacheKey(uid));
  await bumpAfterCommit("setMentorNotificationFrequency", writeChangeKey(`users/${uid}`, written.writeTime), [scopes.mentor(uid)]);
  return { frequency };
}
