/**
 * The reader side of invalidation markers, one per instance. Instead of a Redis round trip
 * per request, the instance re-reads every marker it depends on at most once per
 * `pollIntervalMs`, in one command (redis/poll.ts), on the first request after the interval: a change whose
 * marker was written at time t is seen by every request from t + pollIntervalMs (+ one
 * round trip) on.
 *
 * A scope seen for the first time between polls is not read at once (that would be a Redis
 * command per new user per instance): its data is fetched under an unknown version, and a
 * poll reads the scope with the others (the next one, or the one under way if the scope is
 * already in it). The entry, or the fetch if it is still running, is then adopted under the
 * version read only if no bump can have happened that the fetch missed (the marker does not
 * exist, or its last write is older than the fetch): see `adoptable`. Otherwise it is a miss,
 * and the change is never served.
 *
 * It also measures that promise where it matters, in production: for every change it sees
 * (a marker whose reading carries its write time, `version:writtenAtMs`), how long after the
 * write this instance could still answer from the old version. See `noteChange`.
 */
import { LRUCache } from "lru-cache";
import { Clock, systemClock, wallClock } from "../common/clock";
import { MarkerReading } from "../redis/markers";

export type { MarkerReading };

/** What a poll reads besides the markers themselves (see `MarkerReader`). */
export interface PollExtras {
  /**
   * The version this watcher holds for each scope (undefined: not read yet). A scope that
   * carries a payload (redis/poll.ts) has it read only when its version is not the one held.
   */
  heldVersions: readonly (string | null | undefined)[];
  /** Plain keys to read in the same command, for the riders (`PollRider`). */
  riderKeys: readonly string[];
}

/** A poll's answer: the readings of its scopes, in order, and the values of its rider keys. */
export interface PollReply {
  readings: MarkerReading[];
  riderValues: readonly unknown[];
}

/**
 * Reads the readings of `scopes`, in order (redis/poll.ts reads them from Redis, in one
 * command with `extras`). A reader that returns only the readings reads no riders.
 */
export type MarkerReader = (scopes: readonly string[], extras: PollExtras) => Promise<MarkerReading[] | PollReply>;

export interface MarkerWatcherOptions {
  read: MarkerReader;
  pollIntervalMs?: number;
  /** Most scopes tracked at once; forgetting one is safe (it is re-read on next use). */
  maxScopes?: number;
  /**
   * A scope no request has asked for in this long (ms) is no longer polled. Set it to the
   * longest TTL of the entries that depend on markers: an entry is never older than the last
   * time its scope was asked for, so no live entry loses its scope. Default: never.
   */
  scopeIdleMs?: number;
  /** Scopes per poll command. */
  batchSize?: number;
  clock?: Clock;
  onReadError?: (error: unknown) => void;
  /** The first successful poll after failed ones, with how long markers were unreadable. */
  onReadRecovered?: (unreadableMs: number) => void;
  /**
   * Converts a marker's write time (as stamped, Redis's clock) to this machine's wall clock
   * (Unix ms). Without it, changes are still followed but not measured, and an entry fetched
   * before its scope was read is adopted only when the marker does not exist (`adoptable`).
   */
  writeTimeToWallMs?: (writtenAtMs: number) => number;
  /** This machine's wall clock (Unix ms), against which write times are converted. Default: Date.now(). */
  wallClock?: Clock;
  /**
   * Every change seen: `delayMs` is how long after the write this instance could still answer
   * from the old version (undefined when the reading carries no write time).
   */
  onChangeSeen?: (scope: string, delayMs: number | undefined) => void;
  /**
   * The price of one poll (US dollars; one Redis command). With it, a lookup whose source costs
   * less than its share of a poll reads the source instead of polling (`readThroughCheaper`).
   * Default: none (every due lookup polls).
   */
  pollUsd?: () => number;
  /**
   * Requests per ms lately among those one poll serves (instance/runtime.ts: the asking lookup's
   * own function's, as each function is its own service in production). Default: 0.
   */
  requestsPerMs?: () => number;
  /** Something rides on the next poll that should not wait (the stats publish): a due lookup polls rather than read its source. Default: never. */
  pollWanted?: () => boolean;
  /** What else each poll carries (asked at every poll, so riders added later ride too). Default: none. */
  riders?: () => readonly PollRider[];
}

/**
 * Something an instance keeps fresh by riding on its marker polls (install counts): Upstash
 * bills a command, not a key, so what is read in the poll's one command costs nothing more.
 */
export interface PollRider {
  /** The keys this poll should read (plain values), asked as the poll starts; none: nothing rides. */
  keys(): readonly string[];
  /** Their values, in order, when the poll answers (not called when it fails). */
  read(values: readonly unknown[]): void;
  /** Forgets what it holds: a cold start (the instance runtime's reset). */
  reset?(): void;
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
  /** The last marker read succeeded (markers can be read). */
  readable: boolean;
  /** Every scope asked for has been read at least once (none waits for the next poll). */
  known: boolean;
  /** Readable and known. */
  fresh: boolean;
  /** The version tag of the scopes, to store with (and compare against) a cached entry. */
  tag: string;
}

const unknownVersion = "?";

interface TrackedScope {
  version: string | null;
  /** The last write's time as stamped (Redis's clock), when the reading carried it. */
  writtenAtMs?: number;
  changedIds?: ReadonlyMap<number, string>;
  firstVersion?: number;
  /** When the last poll that read this version started (on `clock`). */
  readStartedAtMs: number;
  /** What the scope's payload held at this version, when a poll read it (redis/poll.ts). */
  payload?: readonly string[];
}

export class MarkerWatcher {
  private readonly read: MarkerReader;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly onReadError: (error: unknown) => void;
  private readonly onReadRecovered: (unreadableMs: number) => void;
  private readonly writeTimeToWallMs: ((writtenAtMs: number) => number) | undefined;
  private readonly wallClock: Clock;
  private readonly onChangeSeen: (scope: string, delayMs: number | undefined) => void;
  private readonly pollUsd: (() => number) | undefined;
  private readonly requestsPerMs: () => number;
  private readonly pollWanted: () => boolean;
  private readonly riders: () => readonly PollRider[];
  private readonly versions: LRUCache<string, TrackedScope>;
  private lastPollStartedAtMs = -Infinity;
  private lastPollOk = false;
  /** When the last successful poll started (on `clock`). */
  private lastOkPollStartedAtMs = -Infinity;
  private firstFailedPollAtMs: number | undefined;
  /** When this instance last answered from its current view (see `noteChange`). */
  private lastAnsweredAtMs = -Infinity;
  private poll: Promise<void> | undefined;
  private readonly pendingScopes = new Set<string>();
  private readonly counts = { markerChecks: 0, markerCheckErrors: 0, markerChangesSeen: 0 };

  constructor(options: MarkerWatcherOptions) {
    this.read = options.read;
    this.clock = options.clock ?? systemClock;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.onReadError = options.onReadError ?? (() => undefined);
    this.onReadRecovered = options.onReadRecovered ?? (() => undefined);
    this.writeTimeToWallMs = options.writeTimeToWallMs;
    this.wallClock = options.wallClock ?? wallClock;
    this.onChangeSeen = options.onChangeSeen ?? (() => undefined);
    this.pollUsd = options.pollUsd;
    this.requestsPerMs = options.requestsPerMs ?? (() => 0);
    this.pollWanted = options.pollWanted ?? (() => false);
    this.riders = options.riders ?? (() => []);
    this.versions = new LRUCache({
      max: options.maxScopes ?? 20_000,
      // ttlResolution 0: every check reads the injected clock (the default caches it for 1 ms).
      ...(options.scopeIdleMs === undefined ? {} : { ttl: options.scopeIdleMs, ttlResolution: 0, updateAgeOnGet: true, perf: this.clock }),
    });
  }

  /**
   * Brings the instance's view of `scopes` up to date when a poll is due (a new scope waits
   * for it) and returns it. Never throws: a failed read returns `readable: false`, and the
   * caller decides between failing closed and serving within its short bound.
   */
  async view(scopes: readonly string[]): Promise<MarkerView> {
    const nowMs = this.clock.now();
    const due = nowMs - this.lastPollStartedAtMs >= this.pollIntervalMs;
    if (due) {
      await this.refresh(scopes);
      this.lastAnsweredAtMs = this.clock.now();
    } else {
      // New scopes wait for the next poll (see the class comment); while Redis is failing,
      // only the interval retries it: no request waits on a dead Redis.
      this.expect(scopes);
      this.lastAnsweredAtMs = nowMs;
    }
    return this.currentView(scopes);
  }

  /**
   * The view of `scopes` without polling, when every one of them is new to this instance and
   * markers were readable at the last poll: they are fetched now under unknown versions, and
   * the next poll reads them (a later lookup of the same request, say). Undefined otherwise:
   * the caller asks `view`. For a request that learns from such a lookup what its poll should
   * carry (apps/catalog.ts: the caller's own apps, whose install counts then ride on it).
   */
  viewOfNewScopes(scopes: readonly string[]): MarkerView | undefined {
    if (!this.lastPollOk || scopes.length === 0 || scopes.some((scope) => this.versions.has(scope))) return undefined;
    this.expect(scopes);
    this.lastAnsweredAtMs = this.clock.now();
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
    return { readable: this.lastPollOk, known, fresh: this.lastPollOk && known, tag };
  }

  /**
   * The last poll's reading of `scope`, for a scope whose marker carries a value rather than
   * guards entries (credits/ledger.ts: the fleet's usage total). Asking is a use (it keeps the
   * scope polled); a scope not read yet answers undefined and is read by the next poll.
   */
  reading(scope: string): MarkerReading | undefined {
    const entry = this.versions.get(scope);
    if (entry === undefined) {
      this.pendingScopes.add(scope);
      return undefined;
    }
    return { version: entry.version, writtenAtMs: entry.writtenAtMs };
  }

  /**
   * The payload a poll read atomically with `scope`'s version (redis/poll.ts: the enabled-apps
   * set with its marker), for the version this watcher holds; undefined when it has none.
   */
  payload(scope: string): readonly string[] | undefined {
    return this.versions.peek(scope)?.payload;
  }

  /** This instance changed what `scope`'s payload holds: the one read with the version held is old. */
  dropPayload(scope: string): void {
    const entry = this.versions.peek(scope);
    if (entry !== undefined) entry.payload = undefined;
  }

  /**
   * Whether a lookup whose source costs `readUsd` should read it instead of polling now: a poll
   * is due (none under way, none within the interval) and this request's share of it, its price
   * over the requests expected to share it (this one and those of the next interval), is more.
   * An instance serving a request a minute pays a whole poll to spare one document read; one
   * serving ten a second pays a tenth of one.
   */
  readThroughCheaper(readUsd: number | (() => number)): boolean {
    if (this.pollUsd === undefined || this.poll !== undefined) return false;
    if (this.clock.now() - this.lastPollStartedAtMs < this.pollIntervalMs || this.pollWanted()) return false;
    const requestsPerPoll = 1 + this.requestsPerMs() * this.pollIntervalMs;
    // The prices are read only once a poll is due: a lookup between polls pays nothing for them.
    return (typeof readUsd === "function" ? readUsd() : readUsd) < this.pollUsd() / requestsPerPoll;
  }

  /** The poll interval (ms): a value read from the source serves as a poll would, until it is this old. */
  get intervalMs(): number {
    return this.pollIntervalMs;
  }

  /**
   * Reads `scopes` that are new to this instance (their payloads with them) and what the
   * riders ask for, now, when the instance would otherwise send commands of its own for them
   * (an SMEMBERS, an MGET). The read is the poll itself whenever that costs no more commands than
   * reading the new scopes alone (`earlyPollPays`); otherwise it is one command that is not a
   * poll: the scopes already held keep the view the last poll gave them, and the next poll is
   * due when it was. False when markers were unreadable at the last poll or this read fails (the
   * caller reads for itself; only the interval retries Redis).
   */
  async readEarly(scopes: readonly string[]): Promise<boolean> {
    if (!this.lastPollOk) return false;
    if (this.poll === undefined && this.earlyPollPays(scopes)) {
      await this.refresh(scopes);
      return this.lastPollOk;
    }
    if (this.poll !== undefined) await this.poll;
    const fresh = scopes.filter((scope) => !this.versions.has(scope));
    for (const scope of fresh) this.pendingScopes.delete(scope);
    try {
      await this.readBatch(fresh, true, this.clock.now());
      return true;
    } catch {
      for (const scope of fresh) this.pendingScopes.add(scope);
      return false;
    }
  }

  /**
   * Whether polling now, to read `scopes` early, costs no more commands than one read of them
   * alone. A poll a fraction f of the interval early moves the schedule on by f: at an instance
   * that polls every interval it costs 1 - f polls more over time, each of
   * ceil(scopes / batchSize) commands. So a poll of one command always pays (at no phase is it
   * dearer than the one command it replaces, and it refreshes every view); a poll of k commands
   * pays from f = 1 - 1/k on.
   */
  private earlyPollPays(scopes: readonly string[]): boolean {
    const commandsPerPoll = Math.max(1, Math.ceil((this.versions.size + this.pendingScopes.size + scopes.length) / this.batchSize));
    const earlyFraction = Math.min(1, (this.clock.now() - this.lastPollStartedAtMs) / this.pollIntervalMs);
    return commandsPerPoll * (1 - earlyFraction) <= 1;
  }

  /** `scopes` will be asked for soon: the next poll (or the one starting now) reads the new ones. */
  expect(scopes: readonly string[]): void {
    for (const scope of scopes) if (!this.versions.has(scope)) this.pendingScopes.add(scope);
  }

  /** Whether a poll that started at or after `clockMs` (on `clock`) read the markers: Redis answered since. */
  readSince(clockMs: number): boolean {
    return this.lastOkPollStartedAtMs >= clockMs;
  }

  /**
   * Whether data fetched under `tag` (a tag this watcher made, with unknown versions) by a
   * fetch that started at `fetchedAtWallMs` (on the wall clock) holds for the current versions:
   * every scope known then is unchanged, and every scope unknown then reads as a version the
   * fetch already reflects, whenever the poll read it (before the fetch began or while it ran):
   * - no marker: no bump had happened when it was read, and a bump after that is a change the
   *   next poll sees (a marker expires a day after its last bump, far beyond any poll);
   * - or a last write older than the fetch by more than a poll interval (the margin for the
   *   two machines' clocks): a bump follows its commit, so the fetch read that change, and a
   *   later bump would be a later write.
   * A poll that began before the fetch is as good as one after it: what matters is what the
   * version read says about the fetch, not when it was read. So a fetch that a request starts
   * while the poll reading its scope is under way is shared with the requests that wait for
   * that poll, instead of being fetched again under the version it reads.
   */
  adoptable(scopes: readonly string[], tag: string, fetchedAtWallMs: number): boolean {
    const tagged = this.taggedVersions(scopes, tag);
    if (tagged === undefined || !tagged.includes(unknownVersion)) return false;
    return scopes.every((scope, i) => {
      const entry = this.versions.peek(scope)!;
      if (tagged[i] !== unknownVersion) return tagged[i] === String(entry.version);
      if (entry.version === null) return true;
      if (entry.writtenAtMs === undefined || this.writeTimeToWallMs === undefined) return false;
      return this.writeTimeToWallMs(entry.writtenAtMs) + this.pollIntervalMs < fetchedAtWallMs;
    });
  }

  /**
   * The ids whose changes took `scopes` from the versions in `tag` (a tag this watcher made)
   * to the current ones, from the markers' change logs; undefined when any step between is not
   * in a log (a bump that named nothing, a log that moved on, an expired marker, markers not
   * read lately), and then the caller refetches in full.
   */
  changedIdsSince(scopes: readonly string[], tag: string): string[] | undefined {
    const tagged = this.taggedVersions(scopes, tag);
    if (tagged === undefined) return undefined;
    const ids = new Set<string>();
    for (const [i, scope] of scopes.entries()) {
      const entry = this.versions.peek(scope)!;
      const taggedVersion = tagged[i]!;
      if (taggedVersion === String(entry.version)) continue;
      const to = Number(entry.version);
      // Tagged before the marker existed: every change since is in this incarnation's log.
      const from = taggedVersion === "null" ? (entry.firstVersion ?? NaN) - 1 : Number(taggedVersion);
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to <= from || to - from > (entry.changedIds?.size ?? 0)) return undefined;
      for (let version = from + 1; version <= to; version++) {
        const id = entry.changedIds?.get(version);
        if (id === undefined) return undefined;
        ids.add(id);
      }
    }
    return [...ids];
  }

  /** The version of each of `scopes` in `tag` (as `currentView` writes it), when every scope is read now. */
  private taggedVersions(scopes: readonly string[], tag: string): string[] | undefined {
    const tagged = tag.split(";");
    return tagged.length === scopes.length + 1 && this.currentView(scopes).fresh ? tagged : undefined;
  }

  stats(): MarkerWatcherStats {
    // Healthy unless reads are failing: an instance that has not polled yet (one that reads its
    // sources instead, say) knows of nothing wrong.
    return { ...this.counts, trackedScopes: this.versions.size, markersHealthy: this.firstFailedPollAtMs === undefined };
  }

  private async refresh(scopes: readonly string[]): Promise<void> {
    // New scopes wait in `pending` for the poll to take them. A request that joins a poll
    // already under way without its new scopes does not start another: they stay pending, and
    // are fetched under an unknown version and adopted by the next poll, as between polls (a
    // second poll at once would cost a command to spare nothing: a new scope's data is fetched
    // either way).
    this.expect(scopes);
    this.poll ??= this.pollNow().finally(() => (this.poll = undefined));
    await this.poll;
  }

  private async pollNow(): Promise<void> {
    const startedAtMs = this.clock.now();
    // Lookups of one request start together (Promise.all): let them all name their scopes
    // before the poll takes the pending ones.
    await Promise.resolve();
    const scopes = [...new Set([...this.versions.keys(), ...this.pendingScopes])];
    this.pendingScopes.clear();
    try {
      for (let start = 0; start === 0 || start < scopes.length; start += this.batchSize) {
        // The riders ride on the first command.
        await this.readBatch(scopes.slice(start, start + this.batchSize), start === 0, startedAtMs);
      }
      if (!this.lastPollOk && this.firstFailedPollAtMs !== undefined) this.onReadRecovered(startedAtMs - this.firstFailedPollAtMs);
      this.firstFailedPollAtMs = undefined;
      this.lastPollOk = true;
      this.lastOkPollStartedAtMs = startedAtMs;
    } catch (error) {
      this.counts.markerCheckErrors++;
      this.lastPollOk = false;
      this.firstFailedPollAtMs ??= startedAtMs;
      this.onReadError(error);
    } finally {
      this.lastPollStartedAtMs = startedAtMs;
    }
  }

  /** One command: `batch`'s markers (and payloads), and, with `carryRiders`, what the riders ask for. */
  private async readBatch(batch: readonly string[], carryRiders: boolean, startedAtMs: number): Promise<void> {
    const riding = carryRiders ? this.riders().map((rider) => ({ rider, keys: rider.keys() })) : [];
    const riderKeys = riding.flatMap((ride) => ride.keys);
    if (batch.length === 0 && riderKeys.length === 0) return;
    this.counts.markerChecks++;
    const heldVersions = batch.map((scope) => this.versions.peek(scope)?.version);
    const reply = await this.read(batch, { heldVersions, riderKeys });
    const readings = Array.isArray(reply) ? reply : reply.readings;
    if (riderKeys.length > 0 && !Array.isArray(reply)) {
      let offset = 0;
      for (const { rider, keys } of riding) {
        rider.read(reply.riderValues.slice(offset, offset + keys.length));
        offset += keys.length;
      }
    }
    const readAtMs = this.clock.now();
    batch.forEach((scope, i) => {
      const reading = readings[i] ?? { version: null };
      const previous = this.versions.peek(scope);
      if (previous !== undefined && previous.version !== reading.version) {
        this.counts.markerChangesSeen++;
        this.noteChange(scope, reading, previous, startedAtMs, readAtMs);
      }
      // A poll is not a use: only requests (`get` in currentView) keep a scope alive. A
      // scope new (or idle and expired) starts its idle time now.
      this.versions.set(
        scope,
        {
          version: reading.version,
          writtenAtMs: reading.writtenAtMs,
          changedIds: reading.changedIds,
          firstVersion: reading.firstVersion,
          readStartedAtMs: startedAtMs,
          payload: reading.payload ?? (previous?.version === reading.version ? previous.payload : undefined),
        },
        { noUpdateTTL: previous !== undefined },
      );
    });
  }

  /**
   * One freshness sample: how long after the marker write this instance could still answer
   * from the old version, i.e. from the write until this poll's reply (every answer after it
   * reflects the change; the request that started the poll is the first of them).
   *
   * Clock skew. The write time is stamped by Redis (see redis/markers.ts) and converted to
   * this instance's clock through `writeTimeToWallMs` (an offset measured against Redis's
   * clock at every stats publish, within half that round trip). Whatever error is left, the true
   * write lies between the start of the previous read of this marker (it did not see the
   * write yet) and the reply of this one (it did), both on this instance's own clock: the
   * write time is clamped into that window. So no sample is negative, and skew can move a
   * sample by at most the window (one poll interval + one round trip while the instance is
   * busy); for instances on NTP-synced clocks (Cloud Run) it moves it by milliseconds.
   *
   * An instance that answered nothing between the write and this poll (idle) served nothing
   * stale: its sample is counted from the poll's start (the first request after the write),
   * not from the write, so idle time is not mistaken for staleness.
   */
  private noteChange(scope: string, reading: MarkerReading, previous: TrackedScope, pollStartedAtMs: number, readAtMs: number): void {
    if (reading.writtenAtMs === undefined || this.writeTimeToWallMs === undefined) {
      this.onChangeSeen(scope, undefined);
      return;
    }
    // On `clock`: the wall-clock instant, moved by how far the two clocks stand apart now.
    const writtenOnClockMs = this.writeTimeToWallMs(reading.writtenAtMs) - this.wallClock.now() + this.clock.now();
    const writtenAtMs = Math.min(Math.max(writtenOnClockMs, previous.readStartedAtMs), readAtMs);
    const staleFromMs = this.lastAnsweredAtMs >= writtenAtMs ? writtenAtMs : Math.max(writtenAtMs, pollStartedAtMs);
    this.onChangeSeen(scope, readAtMs - staleFromMs);
  }
}
