/**
 * k6's duration strings: one or more `<number><unit>` parts, units `ms`, `s`, `m`, `h` ("30s", "2m",
 * "1m30s", "500ms"). A bare number is not accepted, as k6 reads it as seconds in some places and
 * milliseconds in others.
 */
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a k6 duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  return total;
}

/** Milliseconds as k6 prints a duration: "1.23ms", "250.5µs", "1.5s", "2m3.1s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const trim = (n: number): string => String(Number(n.toFixed(2)));
  if (ms === 0) return '0s';
  if (ms < 1) return `${trim(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (ms < 3_600_000) return `${minutes}m${trim((ms - minutes * 60_000) / 1000)}s`;
  const hours = Math.floor(ms / 3_600_000);
  return `${hours}h${Math.floor((ms - hours * 3_600_000) / 60_000)}m`;
}
