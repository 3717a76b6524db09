/**
 * Debian's `chromium`, for the specs that look at a page in a real browser (headless, driven
 * by puppeteer-core, which downloads no browser of its own). A fresh machine of this kind has
 * none: as root with apt-get, it is installed from Debian (as the stack installs redis-server;
 * about 20 s here); anywhere else the caller is told the exact command.
 */
import { existsSync } from "node:fs";
import { errorMessage } from "../../functions/src/error-message";
import { aptInstall, aptInstallPossible } from "../stack/debian-packages";

export const chromiumInstallCommand = "apt-get update && apt-get install -y chromium";

const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

function findChromium(): string | undefined {
  return candidates.find((file) => existsSync(file));
}

/** The browser's path, or why there is none (with the command that installs it). */
export async function chromiumOrInstall(log: (line: string) => void = console.log): Promise<{ path: string } | { missing: string }> {
  const found = findChromium();
  if (found) return { path: found };
  const { isRoot, hasApt } = aptInstallPossible();
  if (!isRoot || !hasApt) {
    return {
      missing: `chromium is not installed (looked for ${candidates.join(", ")}): run \`${hasApt ? `sudo sh -c '${chromiumInstallCommand}'` : chromiumInstallCommand}\``,
    };
  }
  log(`chromium is not installed: installing the Debian package (${chromiumInstallCommand}) ...`);
  try {
    await aptInstall("chromium");
  } catch (error) {
    return { missing: `${errorMessage(error)}: run \`${chromiumInstallCommand}\` yourself` };
  }
  const installed = findChromium();
  return installed ? { path: installed } : { missing: `apt-get installed chromium, but none of ${candidates.join(", ")} exists` };
}
