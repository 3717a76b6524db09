/**
 * Debian packages a fresh machine of this kind lacks (redis-server for the stack, chromium for
 * the browser specs): installed with apt-get when we run as root on Debian, the only download
 * allowed besides npm; anywhere else the caller stops with the exact command.
 */
import { spawn, spawnSync } from "node:child_process";

/** Whether `aptInstall` can run here: root, with apt-get on PATH. */
export function aptInstallPossible(): { isRoot: boolean; hasApt: boolean } {
  return {
    isRoot: process.getuid?.() === 0,
    hasApt: spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0,
  };
}

/** `apt-get update`, then `apt-get install -y <name>`, non-interactive; rejects naming the step that failed. */
export async function aptInstall(name: string): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", name],
  ]) {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("apt-get", args, { env, stdio: ["ignore", "ignore", "inherit"] });
      child.once("error", reject);
      child.once("exit", resolve);
    });
    if (code !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${code})`);
  }
}
