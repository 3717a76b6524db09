/**
 * A voice app as it meets the suite: the Firebase JS SDK (`firebase` 12) against the local
 * emulators, signed up through the Auth emulator, calling callables with `httpsCallable` and
 * resending a call the way a well-behaved app does: exponential backoff with full jitter, and
 * a timeout a cold Functions-emulator worker can meet. For `npm run burst` and the launcher's
 * end-to-end spec.
 *
 * The SDK's `timeout` does not cancel the request: the call fails with `deadline-exceeded` on
 * the client while its delivery goes on to the function. A retry after it is exactly the
 * case a `reportId` exists for.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { deleteApp, FirebaseApp, initializeApp } from "firebase/app";
import { connectAuthEmulator, createUserWithEmailAndPassword, getAuth } from "firebase/auth";
import { connectFunctionsEmulator, Functions, FunctionsError, getFunctions, httpsCallable } from "firebase/functions";

/** Codes a retry can fix (the SDK's names). */
const retryableCodes = new Set(["functions/deadline-exceeded", "functions/unavailable", "functions/resource-exhausted"]);

export interface BackoffOptions {
  /** Attempts in all, the first included (default 8). */
  attempts?: number;
  /** The first retry waits up to this long (ms, default 500); each later one up to twice the one before. */
  baseDelayMs?: number;
  /** No retry waits longer than this (ms, default 8,000). */
  maxDelayMs?: number;
  /**
   * The client timeout of each attempt (ms). Default: the SDK's own 70 s, longer than a cold
   * worker under load needs (its health check alone may take up to 30 s).
   */
  timeoutMs?: number;
  /** The first attempt's timeout only (ms): a short one makes it time out on the client, deterministically, while its delivery still reaches the function. */
  firstTimeoutMs?: number;
}

export interface CallOutcome<T> {
  data: T;
  /** Attempts it took (1 = no retry). */
  attempts: number;
}

/** An app signed up on the local Auth emulator, with its Functions client. */
export interface LocalApp {
  uid: string;
  functions: Functions;
  /** Calls `name` with `data`, retrying what a retry can fix; rejects with the last error otherwise. */
  call<T>(name: string, data: unknown, backoff?: BackoffOptions): Promise<CallOutcome<T>>;
  close(): Promise<void>;
}

/** "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): a random wait up to the exponential bound. */
export function backoffDelayMs(retry: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const bound = Math.min(options.maxDelayMs ?? 8_000, (options.baseDelayMs ?? 500) * 2 ** (retry - 1));
  return Math.round(random() * bound);
}

export async function signUpLocalApp(
  stack: { projectId: string; region: string; functionsEmulatorUrl: string; authEmulatorHost: string },
  emailPrefix = "app",
): Promise<LocalApp> {
  const name = `${emailPrefix}-${randomUUID().slice(0, 8)}`;
  const app: FirebaseApp = initializeApp({ projectId: stack.projectId, apiKey: "demo-api-key" }, name);
  try {
    const auth = getAuth(app);
    connectAuthEmulator(auth, `http://${stack.authEmulatorHost}`, { disableWarnings: true });
    const { user } = await createUserWithEmailAndPassword(auth, `${name}@example.com`, "password");
    const functions = getFunctions(app, stack.region);
    const emulator = new URL(stack.functionsEmulatorUrl);
    connectFunctionsEmulator(functions, emulator.hostname, Number(emulator.port));
    return {
      uid: user.uid,
      functions,
      call: async <T>(callable: string, data: unknown, backoff: BackoffOptions = {}) => {
        const attempts = backoff.attempts ?? 8;
        for (let attempt = 1; ; attempt++) {
          const timeout = attempt === 1 ? (backoff.firstTimeoutMs ?? backoff.timeoutMs) : backoff.timeoutMs;
          try {
            const result = await httpsCallable<unknown, T>(functions, callable, timeout === undefined ? {} : { timeout })(data);
            return { data: result.data, attempts: attempt };
          } catch (error) {
            if (attempt >= attempts || !retryableCodes.has((error as FunctionsError).code)) throw error;
            await sleep(backoffDelayMs(attempt, backoff));
          }
        }
      },
      close: () => deleteApp(app),
    };
  } catch (error) {
    await deleteApp(app);
    throw error;
  }
}
