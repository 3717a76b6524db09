/**
 * Wall-clock time for the credits path (now, for the UTC month of usage and a paid period's end;
 * the hour of a usage document). It follows the instance clock: Date.now() in production, and the same
 * manual clock that TTLs read in tests, so moving that clock also moves the month.
 */
import { systemClock } from "../common/clock";
import { instanceClock } from "../cache/instance";

/** Now, in Unix ms: the real wall clock shifted by how far the instance clock was moved. */
export function wallNowMs(): number {
  return Date.now() + (instanceClock.now() - systemClock.now());
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** The id of the UTC hour's usage document: `YYYY-MM-DD-HH`. */
export function hourlyUsageDocId(date: Date): string {
  return `${date.getUTCFullYear()}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}-${pad2(date.getUTCHours())}`;
}
