/**
 * The Firestore triggers of the benchmark's changes, held back and delivered late, as
 * production's trigger delivery is late (Eventarc delivers a Firestore change seconds after its
 * commit): `benchConfig.triggerDelayMs` of simulated time after each change's commit.
 *
 * During a measured run the Functions emulator's background triggers are paused (its hub's
 * `disableBackgroundTriggers`), so the Firestore emulator's own delivery of every change reaches
 * a disabled trigger and runs nothing. The harness delivers each change's CloudEvent itself, when
 * the simulated clock reaches the commit plus the delay: the event Firestore sends for that
 * change (`google.cloud.firestore.document.v1.written`), built from the real document versions
 * (the document before and after the commit, read from the emulator's REST API with their
 * createTime and updateTime to the microsecond), posted to the trigger's export
 * (`onTesterWritten`, `onAppWritten`, `onUserWritten`) in a trigger host: an instance process
 * of its own (scripts/harness/instance.ts, `__trigger/<name>`) serving functions/src/index.ts, whose
 * export is the real `onDocumentWritten` wrapper, reaching Redis through the same gateway as
 * everything else (so its commands are counted and billed). It runs the code as deployed: no
 * policy, no preload, the system clock.
 *
 * Why not the Functions emulator itself: its triggers run only while enabled, and enabling them
 * reloads them (about 4 s) and registers them with the Firestore emulator once more (the old
 * registrations stay, disabled). A reload per change made every later write to a triggered
 * document reach the Functions emulator once per registration: seeding the next policy's 480
 * documents became tens of thousands of refused deliveries, still arriving well into its
 * measured run. Here the emulator's triggers are paused once and never reloaded.
 *
 * What is checked (`HeldDelivery`, `finishRun`): the Functions emulator ran no trigger during the
 * run (its `Finished "<trigger>"` lines, scripts/stack/function-runs.ts: every delivery of the
 * Firestore emulator was refused); each delivery to the trigger host succeeded. Every successful
 * commit through the read proxy is heard (`noteCommitted`): a write to a triggered document that
 * is not one of the changes would have had its trigger dropped, and is counted (`unheldWrites`).
 */
import { readFileSync } from "node:fs";
import { errorMessage } from "../functions/src/error-message";
import { setBackgroundTriggers } from "../scripts/harness/emulator-hub";
import { firestoreCloudEvent } from "../scripts/stack/firestore-cloud-event";
import type { RestDocument } from "../scripts/stack/firestore-rest-json";
import { dateToRfc3339 } from "../scripts/stack/firestore-rest-json";
import { documentMatches, FirestoreTrigger, triggersFromFunctionsEmulator } from "../scripts/stack/firestore-triggers";
import { Instance, startInstance } from "../scripts/harness/instance";
import type { SuiteStack } from "../scripts/harness/suite-stack";

/** One change's document, as Firestore's trigger event carries it: the versions before and after the commit. */
export interface HeldChange {
  trigger: FirestoreTrigger;
  /** Relative to the database root, e.g. `testers/user-003`. */
  documentPath: string;
  before?: RestDocument;
  after?: RestDocument;
  /** RFC 3339: the commit (the version's update time; the wall clock at the commit for a delete). */
  time: string;
}

/** What the delivery of a held change found. */
export interface HeldDelivery {
  /** Executions of this trigger in the Functions emulator since the run started (not yet reported): a delivery that was not refused. */
  ranEarly: number;
  /** Executions the harness's delivery made: 1, or 0 when the trigger failed (`error`). */
  runs: number;
  error?: string;
}

const databaseRoot = "/databases/(default)/documents/";

export class HeldTriggers {
  private paused = false;
  /** Writes to triggered documents heard since `startRun`, in commit order (relative paths). */
  private triggeredWrites: string[] = [];
  /** The writes the changes made (relative paths), in commit order. */
  private changeWrites: string[] = [];
  /** Per trigger id: the Functions emulator's executions already accounted for. */
  private readonly emulatorRuns = new Map<string, number>();

  private constructor(
    private readonly stack: SuiteStack,
    readonly triggers: readonly FirestoreTrigger[],
    private readonly host: Instance,
  ) {}

  /** The Functions emulator's Firestore triggers (it has loaded them by now), and the trigger host that runs them for the bench. */
  static async create(stack: SuiteStack): Promise<HeldTriggers> {
    const triggers = await triggersFromFunctionsEmulator(stack.local.functionsEmulatorUrl);
    if (triggers.length === 0) throw new Error("the Functions emulator has no Firestore trigger");
    const host = await startInstance();
    return new HeldTriggers(stack, triggers, host);
  }

  async close(): Promise<void> {
    await this.host.stop();
  }

  /** For the proxy's `onCommitted`: every document a successful commit wrote (full names). */
  noteCommitted = (documents: readonly string[]): void => {
    for (const name of documents) {
      const at = name.indexOf(databaseRoot);
      if (at === -1) continue;
      const path = name.slice(at + databaseRoot.length);
      if (this.triggers.some((t) => documentMatches(t.documentPattern, path))) this.triggeredWrites.push(path);
    }
  };

  /** Pauses the Functions emulator's background triggers (once: they stay paused). */
  async pause(): Promise<void> {
    if (this.paused) return;
    await setBackgroundTriggers(this.stack.local.hubUrl, false);
    this.paused = true;
  }

  /** A measured run starts: triggers paused (the seed was written with them paused too), writes heard and executions counted from here. */
  async startRun(): Promise<void> {
    await this.pause();
    // The seed's refused deliveries are over; what ran before is not the run's.
    await this.quiet("before the run");
    this.triggeredWrites = [];
    this.changeWrites = [];
    for (const trigger of this.triggers) this.emulatorRuns.set(trigger.id, this.runsOf(trigger.id));
  }

  /** The run is over (every held change delivered): executions in the Functions emulator that no early delivery accounted for (0 in a sound run). */
  async finishRun(): Promise<number> {
    await this.quiet("after the run");
    let unexpected = 0;
    for (const trigger of this.triggers) unexpected += Math.max(0, this.runsOf(trigger.id) - (this.emulatorRuns.get(trigger.id) ?? 0));
    return unexpected;
  }

  /**
   * Writes to triggered documents since `startRun` that no change made: their triggers were
   * dropped. 0 in a sound run.
   */
  unheldWrites(): string[] {
    const expected = [...this.changeWrites];
    const unheld: string[] = [];
    for (const path of this.triggeredWrites) {
      const i = expected.indexOf(path);
      if (i === -1) unheld.push(path);
      else expected.splice(i, 1);
    }
    return unheld;
  }

  /** The trigger of `documentPath` (exactly one: the suite has one per collection). */
  triggerOf(documentPath: string): FirestoreTrigger {
    const matching = this.triggers.filter((t) => documentMatches(t.documentPattern, documentPath));
    if (matching.length !== 1) throw new Error(`${documentPath}: ${matching.length} triggers match`);
    return matching[0]!;
  }

  /** The document as the REST API (and a trigger event) spells it, read on the emulator itself (never billed); undefined when missing. */
  readDocument(documentPath: string): Promise<RestDocument | undefined> {
    return this.stack.firestore.readDocument(documentPath);
  }

  /**
   * Makes one change with the triggers paused: `commit` runs between a read of the document
   * before and one after. Returns the change as its trigger will receive it.
   */
  async hold(documentPath: string, commit: () => Promise<void>): Promise<HeldChange> {
    await this.pause();
    const trigger = this.triggerOf(documentPath);
    const before = await this.readDocument(documentPath);
    await commit();
    const committedAt = new Date();
    const after = await this.readDocument(documentPath);
    this.changeWrites.push(documentPath);
    return { trigger, documentPath, before, after, time: after?.updateTime ?? dateToRfc3339(committedAt) };
  }

  /** Delivers a held change's event to its trigger's export on the trigger host; resolves once it ran. */
  async release(held: HeldChange): Promise<HeldDelivery> {
    const id = held.trigger.id;
    const accounted = this.emulatorRuns.get(id) ?? 0;
    const ranEarly = Math.max(0, this.runsOf(id) - accounted);
    this.emulatorRuns.set(id, accounted + ranEarly);
    const { projectId, region } = this.stack.local;
    const event = firestoreCloudEvent(held.trigger.eventType, {
      projectId,
      database: held.trigger.database ?? "(default)",
      documentPath: held.documentPath,
      before: held.before,
      after: held.after,
      time: held.time,
    });
    // The emulator names a trigger `<region>-<export>`.
    const exportName = id.startsWith(`${region}-`) ? id.slice(region.length + 1) : id;
    try {
      await this.host.trigger(exportName, event);
      return { ranEarly, runs: 1 };
    } catch (error) {
      return { ranEarly, runs: 0, error: errorMessage(error) };
    }
  }

  private runsOf(triggerId: string): number {
    return this.stack.local.functionRuns.finishedCount(triggerId);
  }

  /**
   * Waits until the Functions emulator has nothing queued or running and nothing arrived for
   * 400 ms, for at most 10 s. Not settling is no error here (its executions are counted, not
   * inferred from quiet): it is reported with the emulator log's last lines.
   */
  private async quiet(when: string): Promise<void> {
    try {
      await this.stack.local.functionRuns.settled({ quietMs: 400, timeoutMs: 10_000 });
    } catch (error) {
      let tail = "";
      try {
        tail = readFileSync(this.stack.local.emulatorLogFile, "utf8").split("\n").slice(-12).join("\n");
      } catch {
        // no log to show
      }
      console.warn(`  held triggers: the Functions emulator did not go quiet ${when}: ${errorMessage(error)}\n${tail}`);
    }
  }
}
