/** The functions' dotenv files (.env.local, .secret.local), edited key by key. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Sets the stack's keys in the dotenv files, keeping every other line (firebase-tools writes
 * resolved param defaults into .env.local; a developer may keep their own values there).
 */
export function writeEnvFiles(
  dir: string,
  values: {
    env: Record<string, string | undefined>;
    secrets: Record<string, string>;
    secretDefaults: Record<string, string>;
  },
) {
  upsertDotenv(path.join(dir, ".env.local"), values.env, {});
  upsertDotenv(path.join(dir, ".secret.local"), values.secrets, values.secretDefaults);
}

/** `set`: written (undefined: removed); `defaults`: written only when the key is absent. */
export function upsertDotenv(file: string, set: Record<string, string | undefined>, defaults: Record<string, string>) {
  const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
  const keyOf = (line: string) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
  const present = new Set(lines.map(keyOf).filter((k): k is string => k !== undefined));
  const kept = lines.filter((line) => {
    const key = keyOf(line);
    return key === undefined || !(key in set);
  });
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  for (const [key, value] of Object.entries(set)) if (value !== undefined) kept.push(`${key}=${value}`);
  for (const [key, value] of Object.entries(defaults)) if (!present.has(key)) kept.push(`${key}=${value}`);
  writeFileSync(file, kept.join("\n") + "\n", { mode: 0o600 });
}
