/** Escaping and the text formats the page uses; shared by the server-side HTML and (by value) the inline script. */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON safe inside `<script type="application/json">`: `<` is written `\u003c`, so neither `</script>` nor
 * `<!--` (which switches the HTML parser into a state where `</script>` no longer ends the element) can appear.
 * U+2028/2029 are escaped for the benefit of anyone pasting the block into a JS string.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Code or CSS inlined into `<script>`/`<style>`: a closing tag inside it would end the element early. In JS
 * `<\/` means `</` inside strings, regexes and comments (the only places it can occur); CSS has no `</` at all.
 */
export function inlineSafe(code: string, element: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `2025-06-01 12:00:03 UTC`: reviewers compare it with log timestamps, which are UTC. */
export function formatUtc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${formatClock(ms)} UTC`;
}

/** `12:00:03` (UTC), with milliseconds only when they are not zero and `withMs` asks for them. */
export function formatClock(ms: number, withMs = false): string {
  const d = new Date(ms);
  const base = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withMs && d.getUTCMilliseconds() !== 0 ? `${base}.${pad(d.getUTCMilliseconds(), 3)}` : base;
}

/** A duration for people: `850 ms`, `12.3 s`, `4 min 12 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, '')} s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min ${pad(totalS % 60)} s`;
  const totalMin = Math.round(totalS / 60);
  return `${Math.floor(totalMin / 60)} h ${pad(totalMin % 60)} min`;
}

/** `T+12.5 s`: a time relative to the run's start, as the plan's fault offsets are written. */
export function formatOffset(ms: number, startedAt: number): string {
  const delta = ms - startedAt;
  return delta < 0 ? `T−${formatDuration(-delta)}` : `T+${formatDuration(delta)}`;
}

const OFFSET_STEPS_MS = [
  100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 21_600_000, 86_400_000,
];

/**
 * Tick times for the run's time axis, counted from its start: `from`, `from + step`, … up to `to`, about
 * `target` of them, at a round step (100 ms … 1 day). The timeline and every chart share them.
 */
export function offsetTicks(from: number, to: number, target = 12): number[] {
  const span = Math.max(to - from, 1);
  const step = OFFSET_STEPS_MS.find((s) => span / s <= target) ?? Math.ceil(span / target / 86_400_000) * 86_400_000;
  const ticks: number[] = [];
  for (let k = 0; from + k * step <= to; k++) ticks.push(from + k * step);
  return ticks;
}

/** A tick's label: seconds from the start, with a tenth when the ticks are closer than a second (`2.5 s`). */
export function formatSeconds(ms: number, withTenths: boolean): string {
  return `${withTenths ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000))} s`;
}
