/**
 * Wall-clock time for the credits path (now, for the UTC month of usage and a paid period's
 * end; the hour of a usage document). Now follows the clock it is given, the instance runtime's
 * in the functions: Date.now() in production, and in tests the same manual clock that TTLs
 * read, so moving that clock also moves the month.
 */
import { Clock, systemClock } from "../common/clock";

/** Now, in Unix ms: the real wall clock shifted by how far `clock` was moved from the system clock. */
export function wallNowMs(clock: Clock): number {
  return Date.now() + (clock.now() - systemClock.now());
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** The id of the UTC hour's usage document: `YYYY-MM-DD-HH`. */
export function hourlyUsageDocId(date: Date): string {
  return `${date.getUTCFullYear()}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}-${pad2(date.getUTCHours())}`;
}
