import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port the OS assigned"));
      });
    });
  });
}

/** Whether something listens on 127.0.0.1:`port` (a bind there fails). */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(true));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** The lowest port the kernel hands out as an outgoing connection's local port (Linux; 32768 elsewhere). */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A free port below the kernel's ephemeral range, for a server that binds it seconds later
 * (an emulator, after the build): a port from `freePort` is one any outgoing connection may
 * take as its local port meanwhile, and firebase-tools then fails with "port taken". None of
 * `taken`.
 */
export async function stablePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  const from = 10_000;
  const below = ephemeralPortsFrom();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = from + Math.floor(Math.random() * (below - from));
    if (!taken.has(port) && !(await portTaken(port))) return port;
  }
  throw new Error(`no free port between ${from} and ${below} after 100 tries`);
}
