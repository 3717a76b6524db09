/**
 * The reader side of invalidation markers, one per instance. Instead of a Redis round trip
 * per request, the instance re-reads every marker it depends on at most once per
 * `pollIntervalMs`, in one MGET, on the first request after the interval: a change whose
 * marker was written at time t is seen by every request from t + pollIntervalMs (+ one
 * round trip) on. A scope seen for the first time is read before its data is fetched, so a
 * change committed during the fetch always shows up as a version change.
 */
import { LRUCache } from "lru-cache";
import { Clock, systemClock } from "./clock";

/** Reads marker versions for scopes, in order; `null` for a marker that does not exist. */
export type MarkerReader = (scopes: readonly string[]) => Promise<(string | null)[]>;

export interface MarkerWatcherOptions {
  read: MarkerReader;
  pollIntervalMs?: number;
  /** Most scopes tracked at once; forgetting one is safe (it is re-read on next use). */
  maxScopes?: number;
  /** Scopes per MGET. */
  batchSize?: number;
  clock?: Clock;
  onReadError?: (error: unknown) => void;
}

export interface MarkerWatcherStats {
  markerChecks: number;
  markerCheckErrors: number;
  markerChangesSeen: number;
  trackedScopes: number;
  markersHealthy: boolean;
}

/** What a reader knows about a set of scopes right now. */
export interface MarkerView {
  /** Markers were read within the poll interval and every scope asked for is known. */
  fresh: boolean;
  /** The version tag of the scopes, to store with (and compare against) a cached entry. */
  tag: string;
}

const unknownVersion = "?";

export class MarkerWatcher {
  private readonly read: MarkerReader;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly onReadError: (error: unknown) => void;
  private readonly versions: LRUCache<string, { version: string | null }>;
  private lastPollStartedAtMs = -Infinity;
  private lastPollOk = false;
  private poll: Promise<void> | undefined;
  private readonly pendingScopes = new Set<string>();
  private readonly counts = { markerChecks: 0, markerCheckErrors: 0, markerChangesSeen: 0 };

  constructor(options: MarkerWatcherOptions) {
    this.read = options.read;
    this.clock = options.clock ?? systemClock;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.onReadError = options.onReadError ?? (() => undefined);
    this.versions = new LRUCache({ max: options.maxScopes ?? 20_000 });
  }

  /**
   * Brings the instance's view of `scopes` up to date when it is due (or when a scope is
   * new) and returns it. Never throws: a failed read returns `fresh: false`, and the caller
   * decides between failing closed and serving within TTL.
   */
  async view(scopes: readonly string[]): Promise<MarkerView> {
    const due = this.clock.now() - this.lastPollStartedAtMs >= this.pollIntervalMs;
    // While Redis is failing, only the interval retries it: no request waits on a dead Redis.
    const missing = this.lastPollOk && scopes.some((scope) => !this.versions.has(scope));
    if (due || missing) await this.refresh(scopes);
    return this.currentView(scopes);
  }

  /** The view without any Redis call (what `view` returns between polls). */
  currentView(scopes: readonly string[]): MarkerView {
    let tag = "";
    let known = true;
    for (const scope of scopes) {
      const entry = this.versions.get(scope);
      if (entry === undefined) known = false;
      tag += (entry === undefined ? unknownVersion : String(entry.version)) + ";";
    }
    return { fresh: this.lastPollOk && known, tag };
  }

  stats(): MarkerWatcherStats {
    return { ...this.counts, trackedScopes: this.versions.size, markersHealthy: this.lastPollOk };
  }

  private async refresh(scopes: readonly string[]): Promise<void> {
    // New scopes wait in `pending` for the next poll to start, so requests that arrive while
    // a poll is running are covered by the one after it, together.
    for (const scope of scopes) if (!this.versions.has(scope)) this.pendingScopes.add(scope);
    for (let round = 0; round < 5; round++) {
      const joined = this.poll !== undefined;
      this.poll ??= this.pollNow().finally(() => (this.poll = undefined));
      await this.poll;
      if (!joined || !this.lastPollOk || scopes.every((scope) => this.versions.has(scope))) return;
    }
  }

  private async pollNow(): Promise<void> {
    const startedAtMs = this.clock.now();
    const scopes = [...new Set([...this.versions.keys(), ...this.pendingScopes])];
    this.pendingScopes.clear();
    try {
      for (let start = 0; start < scopes.length; start += this.batchSize) {
        const batch = scopes.slice(start, start + this.batchSize);
        this.counts.markerChecks++;
        const versions = await this.read(batch);
        batch.forEach((scope, i) => {
          const version = versions[i] ?? null;
          const previous = this.versions.peek(scope);
          if (previous !== undefined && previous.version !== version) this.counts.markerChangesSeen++;
          this.versions.set(scope, { version });
        });
      }
      this.lastPollOk = true;
    } catch (error) {
      this.counts.markerCheckErrors++;
      this.lastPollOk = false;
      this.onReadError(error);
    } finally {
      this.lastPollStartedAtMs = startedAtMs;
    }
  }
}
