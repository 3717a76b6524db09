/**
 * Deploy and the Functions emulator resolve every param into the function's environment
 * before it runs, so `param.value()` reads the configured value or the declared default. A
 * process that loads the functions itself (an instance process, the seed in `npm start`, the
 * specs, the bench) has no such step, and there an unset int param's `.value()` is 0 (the
 * SDK parses `process.env[name] || "0"`). This is that step: every declared param that the
 * environment does not set gets its declared default. Values set in the environment win.
 */
import "../../functions/src/config"; // declares the params
import { firebaseFunctionsParams } from "./functions-deps";

export function applyParamDefaults(env: NodeJS.ProcessEnv = process.env): void {
  for (const param of firebaseFunctionsParams().declaredParams) {
    const defaultValue = (param as { options?: { default?: unknown } }).options?.default;
    if (env[param.name] !== undefined || defaultValue === undefined || typeof defaultValue === "object") continue;
    env[param.name] = String(defaultValue);
  }
}
