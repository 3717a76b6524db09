/**
 * Where the running `npm start` tells the tools that use it (`npm run demo`, `npm run burst`)
 * how to reach it: .local/stack.json, written once the stack is ready.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./emulator-config";

export interface StackInfo {
  projectId: string;
  region: string;
  /** Where clients call (the gate in front of the Functions emulator). */
  functionsEmulatorUrl: string;
  functionsBaseUrl: string;
  authEmulatorHost: string;
  firestoreHost: string;
  dashboardUrl?: string;
}

export const stackInfoFile = path.join(repoRoot, ".local", "stack.json");

export function writeStackInfo(info: StackInfo): void {
  const { projectId, region, functionsEmulatorUrl, functionsBaseUrl, authEmulatorHost, firestoreHost, dashboardUrl } = info;
  writeFileSync(
    stackInfoFile,
    JSON.stringify({ projectId, region, functionsEmulatorUrl, functionsBaseUrl, authEmulatorHost, firestoreHost, dashboardUrl }, null, 2) + "\n",
  );
}

/** The running stack's addresses; undefined when `npm start` has not written them. */
export function readStackInfo(): StackInfo | undefined {
  return existsSync(stackInfoFile) ? (JSON.parse(readFileSync(stackInfoFile, "utf8")) as StackInfo) : undefined;
}
