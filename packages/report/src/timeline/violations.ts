/**
 * The violations lane: a red pin per failing checker at the time of its first counterexample, linked to its
 * verdict row (a checker whose counterexamples carry no time gets a hollow pin at the end of the run, and says
 * so), and a dashed line from each pin down through every lane.
 */
import { escapeHtml as esc, formatOffset } from '../format.js';
import type { ReportInput, Verdict } from '../model.js';
import { BAD, PLOT_X0, PLOT_X1, r1, sectionLabel, TIMELINE_WIDTH, type Layout, type TimelineAxis } from './layout.js';

/** The element id of a verdict's row (unique in the page: a checker named twice gets `-2`, `-3`…). */
export function verdictRowIds(verdicts: readonly Verdict[]): string[] {
  const seen = new Map<string, number>();
  return verdicts.map((v) => {
    const base = `verdict-${v.checker.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/** A failing verdict as the timeline marks it. */
export interface PlacedViolation {
  readonly n: number;
  readonly verdict: Verdict;
  readonly rowId: string;
  readonly time: number;
  /** No counterexample said when: marked at the end of the run, when it was judged. */
  readonly atEnd: boolean;
}

export function placeViolations(input: ReportInput, axis: TimelineAxis): PlacedViolation[] {
  const ids = verdictRowIds(input.verdicts);
  const placed: PlacedViolation[] = [];
  input.verdicts.forEach((v, i) => {
    if (v.valid !== false) return;
    const at = v.violatedAt?.time;
    placed.push({
      n: placed.length + 1,
      verdict: v,
      rowId: ids[i]!,
      time: at === undefined ? axis.end : clamp(at, axis.start, axis.end),
      atEnd: at === undefined,
    });
  });
  return placed;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * The marker of a violation: a red pin with its number, its head centred on (x, cy) and its tip 12 below;
 * hollow when it stands for "judged at the end".
 */
export function violationGlyph(x: number, cy: number, n: number, atEnd: boolean, fontSize = 9.5): string {
  const fill = atEnd ? '#fff' : BAD;
  const text = atEnd ? BAD : '#fff';
  return `<path d="M${r1(x)} ${r1(cy + 12)}L${r1(x - 6)} ${r1(cy + 4.5)}A7.5 7.5 0 1 1 ${r1(x + 6)} ${r1(cy + 4.5)}Z" fill="${fill}" stroke="${BAD}" stroke-width="1.6"/><text x="${r1(x)}" y="${r1(cy)}" text-anchor="middle" dominant-baseline="central" font-size="${fontSize}" font-weight="700" fill="${text}">${n}</text>`;
}

/** The least distance between two violation markers' centres. */
const MARKER_GAP = 17;

/**
 * Where each marker goes: at its time, moved right just enough not to cover the one before, and a cluster
 * that would run past the axis's end moved left as a whole (markers "at the end" share one time).
 */
export function spreadMarkers(xs: readonly number[], gap = MARKER_GAP, max = PLOT_X1 + 6): number[] {
  const order = xs.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x || a.i - b.i);
  const placed: number[] = [];
  for (const o of order) placed.push(placed.length === 0 ? o.x : Math.max(o.x, placed.at(-1)! + gap));
  for (let k = placed.length - 1; k >= 0; k--) {
    const limit = k === placed.length - 1 ? max : placed[k + 1]! - gap;
    if (placed[k]! > limit) placed[k] = limit;
  }
  const out = new Array<number>(xs.length);
  order.forEach((o, k) => (out[o.i] = placed[k]!));
  return out;
}

/** The lane's height. */
const VIOLATIONS_LANE_H = 30;

/**
 * The violations lane at `y`: its label, drawn in its place, and its pins, which the figure draws last, over
 * the lines that cross them, so that each stays clickable.
 */
export function violationsLane(
  L: Layout,
  y: number,
  violations: readonly PlacedViolation[],
): { label: string; pins: string; height: number } {
  return {
    label: sectionLabel(y + 15, 'Violations', 'The first counterexample of each failing checker'),
    pins: violationPins(L, y, violations),
    height: VIOLATIONS_LANE_H,
  };
}

function violationPins(L: Layout, y: number, violations: readonly PlacedViolation[]): string {
  if (violations.length === 0) {
    const unknown = L.input.verdicts.filter((v) => v.valid === 'unknown').length;
    const text =
      unknown === 0
        ? `None: all ${L.input.verdicts.length} checkers held.`
        : `None found; ${unknown} checker${unknown === 1 ? '' : 's'} could not decide (unknown).`;
    return `<g class="tl-violations" data-violations="0"><text x="${PLOT_X0 + 6}" y="${y + 15}" font-size="11.5" fill="${unknown === 0 ? '#15803d' : '#a16207'}" dominant-baseline="central">${esc(text)}</text></g>`;
  }
  // Markers never cover each other, so that each stays clickable; one moved off its time points back to it.
  const at = spreadMarkers(violations.map((v) => L.x(v.time)));
  const marks = violations.map((v, i) => {
    const trueX = L.x(v.time);
    const vx = at[i]!;
    const cy = y + 11;
    const connector =
      Math.abs(vx - trueX) > 0.5
        ? `<line x1="${r1(vx)}" y1="${cy + 12}" x2="${r1(trueX)}" y2="${y + 29}" stroke="${BAD}" stroke-width="1"/>`
        : '';
    const when = v.atEnd
      ? `at the end of the run: judged from the final read (no counterexample of it carries a time)`
      : `at ${formatOffset(v.time, L.input.startedAt)} (${v.verdict.violatedAt!.how})`;
    const first = firstMessage(v.verdict);
    const title = `Violation ${v.n}: ${v.verdict.checker} — first counterexample ${when}${first ? `\n${first}` : ''}\nClick to see its verdict.`;
    // The checker's name beside its pin, where it fits before the next marker (or, at the far right, before it).
    const name = v.verdict.checker;
    const width = name.length * 6.1;
    const right = (at[i + 1] ?? PLOT_X1 + 40) - vx - 16;
    const left = vx - (at[i - 1] ?? PLOT_X0 - 10) - 16;
    const label =
      width <= right && vx + 11 + width <= TIMELINE_WIDTH - 4
        ? `<text x="${r1(vx + 11)}" y="${cy}" font-size="10.5" font-weight="600" fill="${BAD}" dominant-baseline="central">${esc(name)}</text>`
        : width <= left
          ? `<text x="${r1(vx - 11)}" y="${cy}" text-anchor="end" font-size="10.5" font-weight="600" fill="${BAD}" dominant-baseline="central">${esc(name)}</text>`
          : '';
    return `<a href="#${esc(v.rowId)}" class="tl-violation" id="violation-${esc(v.rowId.replace(/^verdict-/, ''))}" data-checker="${esc(v.verdict.checker)}" data-at-end="${v.atEnd}" data-time="${v.time}"><title>${esc(title)}</title>${connector}${violationGlyph(vx, cy, v.n, v.atEnd)}${label}</a>`;
  });
  return `<g class="tl-violations" data-violations="${violations.length}">${marks.join('')}</g>`;
}

/** Each violation's dashed line, from under the lane at `laneY` (where the pins' tips end) to `bottom`. */
export function violationLines(
  L: Layout,
  violations: readonly PlacedViolation[],
  laneY: number,
  bottom: number,
): string {
  return violations
    .map((v) => {
      const vx = r1(L.x(v.time));
      return `<line x1="${vx}" x2="${vx}" y1="${laneY + 29}" y2="${bottom}" stroke="${BAD}" stroke-width="1.2" stroke-dasharray="${v.atEnd ? '2 3' : '5 3'}" opacity="0.7"/>`;
    })
    .join('');
}

function firstMessage(v: Verdict): string | undefined {
  const c = v.counterexamples[0];
  const m = c !== null && typeof c === 'object' ? (c as { message?: unknown }).message : undefined;
  if (typeof m !== 'string') return undefined;
  return m.length > 220 ? `${m.slice(0, 219)}…` : m;
}
