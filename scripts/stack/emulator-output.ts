/**
 * firebase-tools' output as a person reads it in `npm start`'s terminal (the whole output still
 * goes to the emulator log file): function log lines as level, function and message, without
 * the JSON the emulator appends; no DEBUG lines; none of the Java Firestore emulator's chatter,
 * and its stack traces as one line (none for a duplicate usage report, which it refuses by design).
 */

/** The JSON object at the start of `text`, and what follows it; undefined if there is none. */
function leadingJson(text: string): { value: Record<string, unknown>; rest: string } | undefined {
  for (let end = text.indexOf("}"); end !== -1; end = text.indexOf("}", end + 1)) {
    try {
      const value = JSON.parse(text.slice(0, end + 1)) as unknown;
      if (value !== null && typeof value === "object") return { value: value as Record<string, unknown>, rest: text.slice(end + 1).trim() };
    } catch {
      // not the end of the object yet
    }
  }
  return undefined;
}

/** The function a tail names (`{"metadata":{"function":{"name":"us-central1-getCredits"}}}`), without its region. */
function functionOf(tail: string): string | undefined {
  const parsed = leadingJson(tail)?.value as { metadata?: { function?: { name?: unknown } } } | undefined;
  const name = parsed?.metadata?.function?.name;
  return typeof name === "string" ? name.replace(/^[a-z]+-[a-z]+\d+-/, "") : undefined;
}

// The Java emulator logs through java.util.logging: a timestamped source line, then `LEVEL: text`,
// each echoed again inside a {"metadata":{"emulator":{"name":"firestore"}...}} line.
const javaChatter = [
  /^(SEVERE|WARNING|INFO|CONFIG|FINE|FINER|FINEST): /,
  /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M /,
  /^\s*\{"metadata":\{"emulator":\{"name":"firestore"/,
];
// A Java stack trace's frames; the Firestore emulator prints one for every commit it refuses.
const javaStackFrames = [/^\s+at [\w$.<>/]+\(.*\)$/, /^\s*\.\.\. \d+ more$/, /^Caused by: /];
const javaException = /^(?:[a-z]\w*\.)+\w*(?:Exception|Error): /;
// A duplicate usage report is refused by design (its dedupe record exists): no line at all.
const expectedRefusal = /entity already exists: .*\/usage_reports\//;
// The Hosting emulator logs every request it serves (the dashboard's assets and cacheStats calls) as an access-log line.
const quietLines = [/Loaded environment variables from /, /^i {2}hosting: \S+ - \S+ \[[^\]]+\] "/];

/** The line for the terminal, or undefined when it belongs in the log file only. */
export function readableLine(line: string): string | undefined {
  if ([...javaChatter, ...quietLines, ...javaStackFrames].some((pattern) => pattern.test(line))) return undefined;
  if (javaException.test(line)) return expectedRefusal.test(line) ? undefined : `!  firestore: ${line} (its stack trace is in the emulator log)`;
  if (line.startsWith(">  ")) {
    const payload = leadingJson(line.slice(3));
    if (payload === undefined) return line;
    const severity = typeof payload.value.severity === "string" ? payload.value.severity : "INFO";
    if (severity === "DEBUG") return undefined;
    const message = typeof payload.value.message === "string" ? payload.value.message.split("\n")[0] : JSON.stringify(payload.value);
    const event = typeof payload.value.event === "string" ? ` [${payload.value.event}]` : "";
    const fn = functionOf(payload.rest);
    return `>  ${severity.padEnd(7)} ${fn ? `${fn}: ` : ""}${message}${event}`;
  }
  const tail = line.indexOf(' {"metadata":');
  if (tail !== -1 && leadingJson(line.slice(tail + 1)) !== undefined) return line.slice(0, tail).trimEnd();
  return line;
}
