/**
 * The Firestore a local stack runs against, whichever emulator serves it: the launcher, the
 * test stack and the bench use only this interface (firestore-emulator.ts picks the emulator).
 */
import type { RestDocument } from "./firestore-rest-json";

export interface LocalFirestore {
  /** `127.0.0.1:<port>`, the value for FIRESTORE_EMULATOR_HOST. */
  host: string;
  /** Which emulator, and why, in one line (the banner and the test output print it). */
  description: string;
  /** Whether it evaluates firestore.rules for client SDK requests. */
  rulesEvaluated: boolean;
  /** What the banner says after the address (where rules come from, how to clear data). */
  bannerNote: string;
  /** Emulators `firebase emulators:start --only` must start for it. */
  firebaseToolsEmulators: string[];
  /** Environment for the firebase-tools process (which passes it to every function worker). */
  firebaseToolsEnv: Record<string, string>;
  /** Once the Functions emulator serves: an emulator that does not deliver triggers itself starts delivering them there. */
  connectTriggers(functionsEmulatorUrl: string, log: (line: string) => void): void;
  /** Resolves once every write so far has been handed to trigger delivery. */
  handedOff(): Promise<void>;
  /** Deletes every document of the project, firing no trigger. */
  clear(): Promise<void>;
  /** One document as the REST API (and a trigger event) spells it, read on the emulator itself (never billed); undefined when missing. */
  readDocument(documentPath: string): Promise<RestDocument | undefined>;
  close(): Promise<void>;
}

/** The official Cloud Firestore emulator, which firebase-tools starts, and which delivers triggers and evaluates rules itself. */
export function officialFirestore(options: { host: string; projectId: string; description: string; firebaseToolsEnv: Record<string, string> }): LocalFirestore {
  const documents = `http://${options.host}/v1/projects/${options.projectId}/databases/(default)/documents`;
  return {
    host: options.host,
    description: options.description,
    rulesEvaluated: true,
    bannerNote: "rules from firestore.rules",
    firebaseToolsEmulators: ["firestore"],
    firebaseToolsEnv: options.firebaseToolsEnv,
    connectTriggers: () => undefined,
    handedOff: async () => undefined,
    clear: async () => {
      const url = `http://${options.host}/emulator/v1/projects/${options.projectId}/databases/(default)/documents`;
      const response = await fetch(url, { method: "DELETE" });
      if (!response.ok) throw new Error(`clearing the Firestore emulator: ${response.status} ${await response.text()}`);
    },
    readDocument: async (documentPath) => {
      // "owner": the emulator's admin credential, which bypasses rules.
      const response = await fetch(`${documents}/${documentPath}`, { headers: { authorization: "Bearer owner" } });
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`reading ${documentPath} on the emulator: ${response.status} ${await response.text()}`);
      const document = (await response.json()) as RestDocument;
      return { ...document, fields: document.fields ?? {} };
    },
    close: async () => undefined,
  };
}
