/**
 * Debian's `chromium`, for the specs that look at a page in a real browser (headless, driven
 * by puppeteer-core, which downloads no browser of its own). A fresh machine of this kind has
 * none: as root with apt-get, it is installed from Debian (as the stack installs redis-server;
 * about 20 s here); anywhere else the caller is told the exact command.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

export const chromiumInstallCommand = "apt-get update && apt-get install -y chromium";

const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function findChromium(): string | undefined {
  return candidates.find((file) => existsSync(file));
}

/** The browser's path, or why there is none (with the command that installs it). */
export async function chromiumOrInstall(log: (line: string) => void = console.log): Promise<{ path: string } | { missing: string }> {
  const found = findChromium();
  if (found) return { path: found };
  const isRoot = process.getuid?.() === 0;
  const hasApt = (await exitCode("sh", ["-c", "command -v apt-get"])) === 0;
  if (!isRoot || !hasApt) {
    return {
      missing: `chromium is not installed (looked for ${candidates.join(", ")}): run \`${hasApt ? `sudo sh -c '${chromiumInstallCommand}'` : chromiumInstallCommand}\``,
    };
  }
  log(`chromium is not installed: installing the Debian package (${chromiumInstallCommand}) ...`);
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "chromium"],
  ]) {
    const code = await exitCode("apt-get", args);
    if (code !== 0) return { missing: `\`apt-get ${args.join(" ")}\` failed (exit ${code}): run \`${chromiumInstallCommand}\` yourself` };
  }
  const installed = findChromium();
  return installed ? { path: installed } : { missing: `apt-get installed chromium, but none of ${candidates.join(", ")} exists` };
}

function exitCode(command: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdio: ["ignore", "ignore", "inherit"] });
    child.once("error", () => resolve(null));
    child.once("exit", resolve);
  });
}
