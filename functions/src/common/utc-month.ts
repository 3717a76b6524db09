/** A calendar month in UTC: what usage is counted per (the credits path, and its Redis keys). */
export interface UtcMonth {
  year: number;
  /** 1..12 */
  month: number;
}

export function utcMonthOf(date: Date): UtcMonth {
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1 };
}

/** `YYYY-MM`: the month part of the usage keys, and how a cached entry names its month. */
export function monthKey(month: UtcMonth): string {
  return `${month.year}-${String(month.month).padStart(2, "0")}`;
}
