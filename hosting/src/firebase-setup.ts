/**
 * Which Firebase project the page belongs to, and where its Auth emulator is when the Hosting
 * emulator serves it.
 *
 * Both come from Firebase Hosting's reserved URL `/__/firebase/init.js`: in production it
 * carries the deployed project's web config; the Hosting emulator serves the same script and,
 * with `?useEmulator=true`, the addresses of the emulators running beside it (firebase-tools'
 * templates/hosting/init.js). Only the emulator that serves the page knows those: an isolated
 * stack (tests) puts every emulator on a random port. A file the launcher wrote into the
 * served directory would say the same, but `firebase deploy` would carry it to production.
 *
 * The script is written for the namespaced (compat) SDK: it calls `firebase.initializeApp(config)`
 * and, for an emulator, `firebase.auth().useEmulator(url)` on a global `firebase`. A small
 * global of ours records those two calls, so the page learns them without loading the compat SDK.
 */
import type { FirebaseOptions } from "firebase/app";

export interface FirebaseSetup {
  config: FirebaseOptions;
  /** `http://127.0.0.1:9099` when served by the Hosting emulator; undefined in production. */
  authEmulatorUrl?: string;
}

declare global {
  interface Window {
    firebase?: unknown;
  }
}

/** The Hosting emulator serves on loopback; production never does. */
function servedByEmulator(): boolean {
  return ["127.0.0.1", "localhost", "[::1]"].includes(location.hostname);
}

export async function firebaseSetup(): Promise<FirebaseSetup> {
  let config: FirebaseOptions | undefined;
  let authEmulatorUrl: string | undefined;
  window.firebase = {
    initializeApp: (options: FirebaseOptions) => (config = options),
    auth: () => ({ useEmulator: (url: string) => (authEmulatorUrl = url) }),
  };
  try {
    await loadScript(`/__/firebase/init.js${servedByEmulator() ? "?useEmulator=true" : ""}`);
  } finally {
    delete window.firebase;
  }
  if (!config) throw new Error("/__/firebase/init.js gave no Firebase config (is the page served by Firebase Hosting?)");
  return { config, authEmulatorUrl };
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}
