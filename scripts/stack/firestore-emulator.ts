/**
 * Which Cloud Firestore emulator firebase-tools will run, found in this order:
 *
 *  1. firebase-tools' own downloaded jar (what every user online has after the first
 *     `firebase emulators:start`), used exactly as firebase-tools would use it;
 *  2. the Google Cloud CLI component `google-cloud-cli-firestore-emulator` (a Debian package
 *     on this machine kind), handed to firebase-tools through its documented
 *     `FIRESTORE_EMULATOR_BINARY_PATH` override;
 *  3. only when neither exists: the offline stand-in (`scripts/offline-firestore/`).
 *
 * This is the one place that picks the stand-in: everything else sees a `LocalFirestore`.
 *
 * The Cloud CLI's jar needs two adapters, both confined to the firebase-tools process we
 * start (a user's own `java` and firebase-tools' cache are never touched):
 *  - its manifest has no Main-Class, while firebase-tools runs `java -jar <path>`: we hand it
 *    a manifest-only launcher jar whose Main-Class is the emulator's and whose Class-Path is
 *    the component's jar;
 *  - firebase-tools 15 refuses to start any Java emulator when `java -version` is below 21,
 *    although this jar runs on Java 17: only then, a `java` shim is put first on that
 *    process's PATH. It answers `-version` with a first line that satisfies the check and
 *    says what it is, then the real version; every other call is the real java, unchanged.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import { LocalFirestore, officialFirestore } from "./local-firestore";

/** firebase-tools 15 refuses Java emulators below this major (`MIN_SUPPORTED_JAVA_MAJOR_VERSION`). */
export const firebaseToolsMinJavaMajor = 21;
const cloudFirestoreMainClass = "com.google.cloud.datastore.emulator.firestore.CloudFirestore";

export type FirestoreEmulatorChoice =
  | {
      kind: "firebase-tools";
      /** The jar firebase-tools downloaded (or FIRESTORE_EMULATOR_BINARY_PATH, set by the user). */
      jar: string;
      /** One line for the start banner and the test output. */
      description: string;
    }
  | {
      kind: "cloud-cli";
      jar: string;
      version: string;
      javaMajor: number;
      description: string;
    }
  | {
      kind: "stand-in";
      /** Why neither official emulator can run here, and what would make one run. */
      reason: string;
      description: string;
    };

/** The cache directory firebase-tools downloads emulator jars to (its own rule). */
function firebaseToolsCacheDir(): string {
  return process.env.FIREBASE_EMULATORS_PATH || path.join(homedir(), ".cache", "firebase", "emulators");
}

/** The jar the installed firebase-tools would download, e.g. `.../cloud-firestore-emulator-v1.22.0.jar`. */
export function firebaseToolsFirestoreJar(): string {
  const infoPath = require.resolve("firebase-tools/lib/emulator/downloadableEmulatorInfo.json");
  const info = JSON.parse(readFileSync(infoPath, "utf8")) as { firestore: { downloadPathRelativeToCacheDir: string } };
  return path.join(firebaseToolsCacheDir(), info.firestore.downloadPathRelativeToCacheDir);
}

/** `java -version`'s major on PATH, or undefined when there is no java. */
export function javaMajorVersion(javaCommand = "java"): number | undefined {
  const result = spawnSync(javaCommand, ["-version"], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  const match = /version "([1-9][0-9]*)/.exec(`${result.stdout}\n${result.stderr}`);
  return match?.[1] ? Number(match[1]) : undefined;
}

/** Roots a Cloud CLI install may have: $CLOUDSDK_ROOT_DIR, the one `gcloud` on PATH belongs to, Debian's. */
function cloudSdkRoots(): string[] {
  const roots: string[] = [];
  if (process.env.CLOUDSDK_ROOT_DIR) roots.push(process.env.CLOUDSDK_ROOT_DIR);
  const which = spawnSync("sh", ["-c", "command -v gcloud"], { encoding: "utf8" });
  const gcloud = which.status === 0 ? which.stdout.trim() : "";
  // <root>/bin/gcloud, often reached through a /usr/bin symlink.
  if (gcloud) roots.push(path.dirname(path.dirname(realpathSync(gcloud))));
  roots.push("/usr/lib/google-cloud-sdk");
  return [...new Set(roots)];
}

/** The Cloud CLI component's jar and version, if installed. */
export function cloudCliFirestoreEmulator(): { jar: string; version: string } | undefined {
  for (const root of cloudSdkRoots()) {
    const jar = path.join(root, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar");
    if (!existsSync(jar)) continue;
    let version = "unknown version";
    try {
      const snapshot = JSON.parse(readFileSync(path.join(root, ".install", "cloud-firestore-emulator.snapshot.json"), "utf8")) as {
        components?: { id?: string; version?: { version_string?: string } }[];
      };
      version = snapshot.components?.find((c) => c.id === "cloud-firestore-emulator")?.version?.version_string ?? version;
    } catch {
      // the jar is what matters; the version is only reported
    }
    return { jar, version };
  }
  return undefined;
}

/** Finds the emulator to run, in the order of this module's header. Never downloads. */
export function chooseFirestoreEmulator(): FirestoreEmulatorChoice {
  const javaMajor = javaMajorVersion();
  const override = process.env.FIRESTORE_EMULATOR_BINARY_PATH;
  const ownJar = override || firebaseToolsFirestoreJar();
  const ownJarUsable = existsSync(ownJar) && javaMajor !== undefined && javaMajor >= firebaseToolsMinJavaMajor;
  if (ownJarUsable) {
    return {
      kind: "firebase-tools",
      jar: ownJar,
      description: `official Cloud Firestore emulator (firebase-tools' ${path.basename(ownJar)}, Java ${javaMajor})`,
    };
  }
  const cloudCli = cloudCliFirestoreEmulator();
  if (cloudCli && javaMajor !== undefined) {
    return {
      kind: "cloud-cli",
      ...cloudCli,
      javaMajor,
      description: `official Cloud Firestore emulator (Google Cloud CLI component ${cloudCli.version}, Java ${javaMajor})`,
    };
  }
  const missing =
    javaMajor === undefined
      ? "there is no java on PATH"
      : `neither ${ownJar} (firebase-tools downloads it online; it also needs Java ${firebaseToolsMinJavaMajor}+, found ${javaMajor}) nor the Cloud CLI component google-cloud-cli-firestore-emulator is installed`;
  return {
    kind: "stand-in",
    reason: missing,
    description: `OFFLINE STAND-IN Firestore (@firestore-emulator/server + trigger bridge), not the official emulator: ${missing}; rules are not evaluated`,
  };
}

/**
 * The Firestore for a stack on `port`: `auto` (default) the official emulator when one can
 * run, else the offline stand-in; `official` fails where none can run; `stand-in` forces it.
 */
export async function openLocalFirestore(options: {
  want?: "auto" | "official" | "stand-in";
  port: number;
  projectId: string;
  /** Where the Cloud CLI adapters' files go (git-ignored). */
  workDir: string;
}): Promise<LocalFirestore> {
  const want = options.want ?? "auto";
  const choice: FirestoreEmulatorChoice =
    want === "stand-in"
      ? { kind: "stand-in", reason: "asked for", description: "OFFLINE STAND-IN Firestore (asked for), not the official emulator" }
      : chooseFirestoreEmulator();
  if (choice.kind === "stand-in") {
    if (want === "official") throw new Error(`the official Firestore emulator cannot run here: ${choice.reason}`);
    // Loaded only when used: dropping the stand-in one day means deleting its folder and this branch.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startOfflineFirestore } = require("../offline-firestore") as typeof import("../offline-firestore");
    return startOfflineFirestore({ port: options.port, projectId: options.projectId, description: choice.description });
  }
  return officialFirestore({
    host: `127.0.0.1:${options.port}`,
    projectId: options.projectId,
    description: choice.description,
    firebaseToolsEnv: firebaseToolsEnvFor(choice, options.workDir),
  });
}

/**
 * What firebase-tools' environment needs for `choice`: the binary override and, for Java
 * below 21, the shim directory first on PATH. Files go to `workDir` (git-ignored).
 */
function firebaseToolsEnvFor(choice: FirestoreEmulatorChoice, workDir: string): Record<string, string> {
  if (choice.kind !== "cloud-cli") return {};
  mkdirSync(workDir, { recursive: true });
  const env: Record<string, string> = { FIRESTORE_EMULATOR_BINARY_PATH: writeLauncherJar(choice.jar, workDir) };
  if (choice.javaMajor < firebaseToolsMinJavaMajor) {
    env.PATH = `${writeJavaShim(choice.javaMajor, choice.version, workDir)}${path.delimiter}${process.env.PATH ?? ""}`;
  }
  return env;
}

/** A manifest-only jar: `java -jar launcher.jar` runs the component's emulator class from its jar. */
function writeLauncherJar(componentJar: string, workDir: string): string {
  const manifest = [
    "Manifest-Version: 1.0",
    `Main-Class: ${cloudFirestoreMainClass}`,
    // A Class-Path entry is a URL relative to the launcher; an absolute file path works as one.
    `Class-Path: ${encodeURI(componentJar)}`,
    "",
    "",
  ].join("\r\n");
  const tag = createHash("sha256").update(manifest).digest("hex").slice(0, 12);
  const file = path.join(workDir, `firestore-emulator-launcher-${tag}.jar`);
  if (!existsSync(file)) writeFileSync(file, storedZip("META-INF/MANIFEST.MF", Buffer.from(manifest)));
  return file;
}

/** A zip holding one uncompressed file: all a jar with only a manifest is. */
function storedZip(name: string, content: Buffer): Buffer {
  const nameBytes = Buffer.from(name);
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4); // version needed
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4); // version made by
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const localSize = local.length + nameBytes.length + content.length;
  const centralSize = central.length + nameBytes.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(localSize, 16);
  return Buffer.concat([local, nameBytes, content, central, nameBytes, end]);
}

/** A directory whose `java` passes firebase-tools' version check and is otherwise the real one. */
function writeJavaShim(realMajor: number, emulatorVersion: string, workDir: string): string {
  const which = spawnSync("sh", ["-c", "command -v java"], { encoding: "utf8" });
  const realJava = realpathSync(which.stdout.trim());
  const dir = path.join(workDir, "java-shim");
  mkdirSync(dir, { recursive: true });
  const script = `#!/bin/sh
# Written by scripts/stack/firestore-emulator.ts for the firebase-tools process of this project
# only. firebase-tools 15 refuses Java emulators below Java ${firebaseToolsMinJavaMajor}; the Cloud CLI's Firestore
# emulator ${emulatorVersion} runs on this Java ${realMajor}. Only \`-version\` is answered differently.
for arg in "$@"; do
  if [ "$arg" = "-version" ]; then
    echo 'shim version "${firebaseToolsMinJavaMajor}" (the real java below is ${realMajor}; see scripts/stack/firestore-emulator.ts)'
    exec '${realJava}' "$@"
  fi
done
exec '${realJava}' "$@"
`;
  const file = path.join(dir, "java");
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return dir;
}
