/**
 * The Functions emulator's front door: requests to a function queue behind a bounded number in
 * flight, the way a Cloud Run instance queues requests behind its `concurrency`.
 *
 * The emulator serves each request to a function from a worker process of its own, one request
 * at a time, and starts a new worker for every request that finds none idle: there is no cap.
 * A new worker loads firebase-functions and firebase-admin (about 0.8 s of CPU) and must answer
 * its health check within 30 s. A burst on 2 cores (six sessions reporting every second, each
 * retrying) therefore grew one function's pool to 51 workers, the load average to 152, and no
 * worker finished loading: nothing answered. Behind this gate a function has at most
 * `inFlightPerFunction` requests in the emulator, hence at most that many workers; the rest
 * wait here in order, and one whose client gave up (a timeout before its retry) leaves the
 * queue instead of reaching a worker.
 *
 * Only the URLs clients call pass here (`/<project>/<region>/<function>`). Firestore's trigger
 * deliveries go straight to the emulator, and so does anything else on its port (`/backends`,
 * `/functions/projects/...`) through the same proxy, without a queue.
 */
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";

export interface FunctionsGateOptions {
  /** Where clients call (e.g. firebase.json's 5001); 0 for any free port. */
  port: number;
  /** The Functions emulator itself. */
  emulatorPort: number;
  /** Requests one function may have in the emulator at once, so at most that many workers (default 3). */
  inFlightPerFunction?: number;
}

export interface FunctionGateStats {
  /** Requests passed to the emulator. */
  forwarded: number;
  /** The most requests of one function that ever waited at once. */
  maxQueued: number;
  /** Requests whose client went away while they waited (never reached a worker). */
  abandoned: number;
}

export interface FunctionsGate {
  url: string;
  port: number;
  /** The Functions emulator behind it (firebase-tools' own banner shows this port). */
  emulatorPort: number;
  inFlightPerFunction: number;
  /** Per function name. */
  stats(): Record<string, FunctionGateStats>;
  close(): Promise<void>;
}

/** 3: enough that one slow request does not hold up the rest, few enough that cold workers load on 2 cores. */
export const defaultInFlightPerFunction = 3;

/** A function's requests in the emulator, and the ones waiting for a turn. */
class FunctionLane {
  inFlight = 0;
  readonly waiting: (() => void)[] = [];
  readonly stats: FunctionGateStats = { forwarded: 0, maxQueued: 0, abandoned: 0 };
  constructor(private readonly limit: number) {}

  /** Resolves when the request may go in; `abandon` takes it out of the queue if it has not. */
  enter(): { admitted: Promise<void>; abandon: () => boolean } {
    if (this.inFlight < this.limit) {
      this.inFlight++;
      return { admitted: Promise.resolve(), abandon: () => false };
    }
    let turn!: () => void;
    const admitted = new Promise<void>((resolve) => (turn = resolve));
    this.waiting.push(turn);
    this.stats.maxQueued = Math.max(this.stats.maxQueued, this.waiting.length);
    return {
      admitted,
      abandon: () => {
        const at = this.waiting.indexOf(turn);
        if (at === -1) return false;
        this.waiting.splice(at, 1);
        this.stats.abandoned++;
        return true;
      },
    };
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next)
      next(); // the slot passes on: inFlight stays
    else this.inFlight--;
  }
}

/** `/<project>/<region>/<function>[/...]`: the function a client calls, or undefined for the emulator's own paths. */
export function calledFunction(url: string): string | undefined {
  const [project, region, name] = new URL(url, "http://gate").pathname.split("/").filter(Boolean);
  if (!project || !region || !name || project === "functions" || project === "backends") return undefined;
  return `${region}/${name}`;
}

export async function startFunctionsGate(options: FunctionsGateOptions): Promise<FunctionsGate> {
  const limit = options.inFlightPerFunction ?? defaultInFlightPerFunction;
  const lanes = new Map<string, FunctionLane>();
  const laneOf = (name: string) => lanes.get(name) ?? lanes.set(name, new FunctionLane(limit)).get(name)!;

  const forward = (req: IncomingMessage, res: ServerResponse, done: () => void) => {
    const upstream = httpRequest({ host: "127.0.0.1", port: options.emulatorPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      // Done when the worker's answer is over, read to the end even if the client left.
      answer.once("close", done);
      res.once("close", () => answer.resume());
    });
    upstream.once("error", (error) => {
      done();
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`the Functions emulator did not answer: ${error.message}`);
    });
    // The client gone mid-request: the emulator's worker still finishes (as a Cloud Run request does).
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    const name = calledFunction(req.url ?? "/");
    if (name === undefined) return forward(req, res, () => undefined);
    const lane = laneOf(name);
    const { admitted, abandon } = lane.enter();
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      lane.leave();
    };
    // A client that gave up while waiting (its timeout, then its retry) must not reach a worker.
    res.once("close", () => {
      if (!res.writableFinished && abandon()) left = true;
    });
    void admitted.then(() => {
      if (left) return;
      if (req.destroyed || res.destroyed) return leave();
      lane.stats.forwarded++;
      forward(req, res, leave);
    });
  });
  // Long-lived keep-alive connections of the SDKs must not hold close() open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    emulatorPort: options.emulatorPort,
    inFlightPerFunction: limit,
    stats: () => Object.fromEntries([...lanes].map(([name, lane]) => [name, { ...lane.stats }])),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
