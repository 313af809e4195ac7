/**
 * The run's timeline: one inline SVG, drawn here on the server (no script needed to see it), on one time axis
 * in seconds from the run's start. Top to bottom:
 *
 * - violations: each failing checker at the time of its first counterexample, a link to its verdict row (a
 *   checker whose counterexamples carry no time is marked, hollow, at the end of the run, and says so);
 * - faults: one lane per target and kind, one numbered bar per fault window (a fault without an end fades out
 *   at the run's end);
 * - instances: one lane each, a band for its state (up, paused, down) and a glyph per event — what the lab did
 *   to it above the band (asked to stop, killed, paused, resumed), what the process did on it (started, ready,
 *   joined its group, exited);
 * - inputs and outputs per second, binned finely (100 ms for a chaos seed), fault windows shaded behind them.
 *
 * Everything has a hover title. Colours and strokes are presentation attributes, not CSS, so the SVG is whole
 * on its own: the browser check renders it to a canvas to count its pixels, and a copy of it still reads.
 * The geometry is fixed (a 1160-unit wide view box, scaled to the page) and exposed on the element
 * (`data-x0`, `data-x1`, `data-start`, `data-end`), so the page's script can line the charts up under it and
 * draw their cursor on it.
 */
import { escapeHtml as esc, formatDuration, formatOffset } from './format.js';
import type { Fault, LifecycleKind, ReportInput, Verdict } from './model.js';

/** The view box's width; the page shows it at about 1:1 at its widest. */
export const TIMELINE_WIDTH = 1160;
/** Where the time axis starts and ends, in view box units: a label column on the left, room for a tick label on the right. */
export const PLOT_X0 = 172;
export const PLOT_X1 = TIMELINE_WIDTH - 22;

const FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif";
const INK = '#111827';
const MUTED = '#6b7280';
const GRID = '#e5e7eb';
const BAD = '#dc2626';
const UP = '#16a34a';
const PAUSED = '#f59e0b';

/** Input and output line colours (inputs: published blue, acknowledged green, not acknowledged red). */
export const INPUT_COLORS: Record<string, string> = {
  published: '#2563eb',
  acknowledged: '#16a34a',
  'not acknowledged': '#dc2626',
};
export const OUTPUT_COLORS = ['#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4d7c0f', '#c2410c', '#1e3a8a'];

/** The shared time axis (see render.ts). */
export interface TimelineAxis {
  readonly start: number;
  readonly end: number;
  /** Tick times (epoch ms) and their labels, in seconds from the start. */
  readonly ticks: readonly { t: number; label: string }[];
}

/** A fault as the page draws it (see render.ts). */
export interface PlacedFault {
  readonly n: number;
  readonly fault: Fault;
  readonly start: number;
  readonly end: number;
  readonly open: boolean;
  readonly color: string;
}

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
const r1 = (v: number): string => String(Math.round(v * 10) / 10);

/** The lab's acts, drawn above an instance's band; the process's own events on it. */
const ACTS: ReadonlySet<LifecycleKind> = new Set(['stopping', 'killed', 'paused', 'resumed']);

const KIND_WORDS: Record<LifecycleKind, string> = {
  running: 'running when the record began',
  started: 'started',
  ready: 'ready (answered its readiness probe)',
  joined: 'joined the consumer group',
  stopping: 'asked to stop (SIGTERM)',
  killed: 'killed (SIGKILL)',
  paused: 'paused (SIGSTOP)',
  resumed: 'resumed (SIGCONT)',
  exited: 'exited',
};

const KIND_COLORS: Record<LifecycleKind, string> = {
  running: UP,
  started: UP,
  ready: UP,
  joined: '#2563eb',
  stopping: '#4b5563',
  killed: BAD,
  paused: PAUSED,
  resumed: '#b45309',
  exited: INK,
};

/** One lifecycle glyph centred on (x, y), about 10 units across. */
export function glyph(kind: LifecycleKind, x: number, y: number): string {
  const c = KIND_COLORS[kind];
  const X = r1(x);
  switch (kind) {
    case 'started':
      return `<path d="M${r1(x - 5)} ${r1(y + 4.5)}L${X} ${r1(y - 5)}L${r1(x + 5)} ${r1(y + 4.5)}Z" fill="${c}"/>`;
    case 'exited':
      return `<path d="M${r1(x - 5)} ${r1(y - 4.5)}L${X} ${r1(y + 5)}L${r1(x + 5)} ${r1(y - 4.5)}Z" fill="${c}"/>`;
    case 'ready':
      return `<circle cx="${X}" cy="${r1(y)}" r="4.5" fill="#fff" stroke="${c}" stroke-width="2.2"/>`;
    case 'joined':
      return `<path d="M${X} ${r1(y - 5.5)}L${r1(x + 5)} ${r1(y)}L${X} ${r1(y + 5.5)}L${r1(x - 5)} ${r1(y)}Z" fill="${c}"/>`;
    case 'stopping':
      return `<rect x="${r1(x - 4)}" y="${r1(y - 4)}" width="8" height="8" fill="${c}"/>`;
    case 'killed':
      return `<path d="M${r1(x - 4.5)} ${r1(y - 4.5)}L${r1(x + 4.5)} ${r1(y + 4.5)}M${r1(x + 4.5)} ${r1(y - 4.5)}L${r1(x - 4.5)} ${r1(y + 4.5)}" stroke="${c}" stroke-width="2.6" stroke-linecap="round"/>`;
    case 'paused':
      return `<rect x="${r1(x - 4.5)}" y="${r1(y - 5)}" width="3.2" height="10" fill="${c}"/><rect x="${r1(x + 1.3)}" y="${r1(y - 5)}" width="3.2" height="10" fill="${c}"/>`;
    case 'resumed':
      return `<path d="M${r1(x - 4)} ${r1(y - 5)}L${r1(x + 5)} ${r1(y)}L${r1(x - 4)} ${r1(y + 5)}Z" fill="${c}"/>`;
    case 'running':
      return `<circle cx="${X}" cy="${r1(y)}" r="3" fill="${c}"/>`;
  }
}

/**
 * The marker of a violation: a red pin with its number, its head centred on (x, cy) and its tip 12 below;
 * hollow when it stands for "judged at the end".
 */
function violationGlyph(x: number, cy: number, n: number, atEnd: boolean, fontSize = 9.5): string {
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

/** `1, 2, 5 × 10^k` at or above `v` (at least 1). */
export function niceCeil(v: number): number {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const rateWord = (v: number): string => (v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

/** Which state an instance is in after an event (from whatever it was in before). */
function stateAfter(kind: LifecycleKind, before: 'up' | 'paused' | 'down'): 'up' | 'paused' | 'down' {
  switch (kind) {
    case 'running':
    case 'started':
    case 'ready':
    case 'joined':
    case 'resumed':
      return 'up';
    case 'paused':
      return 'paused';
    case 'killed':
    case 'exited':
      return 'down';
    case 'stopping':
      return before; // until it exits
  }
}

interface Layout {
  readonly x: (t: number) => number;
  readonly axis: TimelineAxis;
  readonly input: ReportInput;
}

/** The timeline figure: the SVG and its legend. */
export function timelineSection(input: ReportInput, axis: TimelineAxis, faults: readonly PlacedFault[]): string {
  const span = axis.end - axis.start;
  const x = (t: number) => PLOT_X0 + ((t - axis.start) / span) * (PLOT_X1 - PLOT_X0);
  const L: Layout = { x, axis, input };
  const violations = placeViolations(input, axis);
  const timeline = input.timeline;
  const parts: string[] = [];
  const back: string[] = []; // under everything: grid and shading
  let y = 0;

  // ---- top axis
  parts.push(axisRow(L, y, 'top'));
  y += 26;
  const bodyTop = y;

  // ---- violations
  let violationsHtml = '';
  let violationsY = -1;
  if (input.verdicts.length > 0) {
    violationsY = y;
    parts.push(sectionLabel(y + 15, 'Violations', 'The first counterexample of each failing checker'));
    violationsHtml = violationsLane(L, y, violations);
    y += 30;
  }

  // ---- faults
  parts.push(separator(y));
  const faultLanes = laneFaults(faults);
  if (faultLanes.length === 0) {
    parts.push(
      `<g class="tl-faults" data-faults="0">${sectionLabel(y + 16, 'Faults', 'Fault windows')}<text x="${PLOT_X0 + 6}" y="${y + 16}" font-size="11.5" fill="${MUTED}" dominant-baseline="central">No faults were injected in this run.</text></g>`,
    );
    y += 32;
  } else {
    const rows: string[] = [sectionLabel(y + 11, 'Faults', 'Fault windows, one lane per target and kind')];
    y += 20;
    for (const lane of faultLanes) {
      rows.push(faultLane(L, y, lane));
      y += FAULT_LANE_H;
    }
    parts.push(`<g class="tl-faults" data-faults="${faults.length}">${rows.join('')}</g>`);
    y += 4;
  }

  // ---- instances
  const lanes = timeline?.instances ?? [];
  let markers = 0;
  if (lanes.length > 0) {
    parts.push(separator(y));
    const rows: string[] = [sectionLabel(y + 11, 'Instances', 'Each instance: its state and what happened to it')];
    y += 20;
    for (const lane of lanes) {
      const drawn = instanceLane(L, y, lane);
      markers += drawn.markers;
      rows.push(drawn.svg);
      y += INSTANCE_LANE_H;
    }
    parts.push(
      `<g class="tl-instances" data-instances="${lanes.length}" data-markers="${markers}">${rows.join('')}</g>`,
    );
    y += 2;
  }

  // ---- rates
  const rates = timeline?.rates ?? [];
  for (const group of ['inputs', 'outputs'] as const) {
    const series = rates.filter((r) => r.group === group);
    if (series.length === 0) continue;
    parts.push(separator(y));
    const title = group === 'inputs' ? 'Inputs /s' : 'Outputs /s';
    const what =
      group === 'inputs'
        ? 'Publishes per second (invoked, acknowledged by the broker)'
        : 'Output messages observed per second, by type';
    parts.push(sectionLabel(y + 11, title, what));
    y += 18;
    const panel = ratePanel(L, y, group, series, timeline!.binMs, faults);
    back.push(panel.shading);
    parts.push(panel.svg);
    y += RATE_PANEL_H + 8;
  }

  // ---- bottom axis
  parts.push(separator(y));
  const bodyBottom = y;
  parts.push(axisRow(L, y, 'bottom'));
  y += 26;
  const height = y;

  // Grid lines and violation lines span the body.
  const grid = axis.ticks
    .map((t) => {
      const gx = r1(x(t.t));
      return `<line x1="${gx}" x2="${gx}" y1="${bodyTop}" y2="${bodyBottom}" stroke="${GRID}" stroke-width="1"/>`;
    })
    .join('');
  const violationLines = violations
    .map((v) => {
      const vx = r1(x(v.time));
      return `<line x1="${vx}" x2="${vx}" y1="${violationsY + 29}" y2="${bodyBottom}" stroke="${BAD}" stroke-width="1.2" stroke-dasharray="${v.atEnd ? '2 3' : '5 3'}" opacity="0.7"/>`;
    })
    .join('');

  const summary = `Timeline of ${input.title}: ${faults.length} fault${faults.length === 1 ? '' : 's'}, ${lanes.length} instance${lanes.length === 1 ? '' : 's'}, ${violations.length} violation${violations.length === 1 ? '' : 's'}, ${formatDuration(span)}`;
  const svg = `<svg class="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${TIMELINE_WIDTH} ${height}" width="100%" role="img" aria-label="${esc(summary)}" font-family="${esc(FONT)}" font-size="11.5" fill="${INK}" data-x0="${PLOT_X0}" data-x1="${PLOT_X1}" data-width="${TIMELINE_WIDTH}" data-start="${axis.start}" data-end="${axis.end}" data-bin-ms="${timeline?.binMs ?? 0}" data-violations="${violations.length}"><title>${esc(summary)}</title><rect x="0" y="0" width="${TIMELINE_WIDTH}" height="${height}" fill="#fff"/>${back.join('')}${grid}${parts.join('')}${violationLines}${violationsHtml}<line class="tl-cursor" x1="0" x2="0" y1="${bodyTop}" y2="${bodyBottom}" stroke="#374151" stroke-width="1" visibility="hidden"/></svg>`;

  return `<section id="timeline"><h2>Timeline</h2>
<figure class="panel timeline-card" id="run-timeline">${svg}
${legend(input, rates)}
${timeline?.note === undefined ? '' : `<figcaption class="hint tl-note">${esc(timeline.note)}</figcaption>`}
</figure>
</section>`;
}

function separator(y: number): string {
  return `<line x1="0" x2="${TIMELINE_WIDTH}" y1="${y}" y2="${y}" stroke="${GRID}" stroke-width="1"/>`;
}

function sectionLabel(y: number, text: string, title: string): string {
  return `<text x="8" y="${y}" font-size="11" font-weight="700" fill="${MUTED}" letter-spacing="0.06em" dominant-baseline="central"><title>${esc(title)}</title>${esc(text.toUpperCase())}</text>`;
}

function axisRow(L: Layout, y: number, side: 'top' | 'bottom'): string {
  const labelY = side === 'top' ? y + 14 : y + 16;
  const tickY1 = side === 'top' ? y + 21 : y;
  const tickY2 = side === 'top' ? y + 26 : y + 5;
  const ticks = L.axis.ticks
    .map((t) => {
      const tx = r1(L.x(t.t));
      return `<line x1="${tx}" x2="${tx}" y1="${tickY1}" y2="${tickY2}" stroke="#9ca3af"/><text x="${tx}" y="${labelY}" text-anchor="middle" font-size="11" fill="#4b5563" dominant-baseline="central">${esc(t.label)}</text>`;
    })
    .join('');
  const name = side === 'top' ? 'seconds from start' : '';
  return `<g class="tl-axis-${side}">${name ? `<text x="8" y="${labelY}" font-size="11" fill="${MUTED}" dominant-baseline="central"><title>Time axis: seconds from the run's start (${esc(formatOffset(L.axis.start, L.input.startedAt))})</title>${name}</text>` : ''}${ticks}</g>`;
}

function violationsLane(L: Layout, y: number, violations: readonly PlacedViolation[]): string {
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

function firstMessage(v: Verdict): string | undefined {
  const c = v.counterexamples[0];
  const m = c !== null && typeof c === 'object' ? (c as { message?: unknown }).message : undefined;
  if (typeof m !== 'string') return undefined;
  return m.length > 220 ? `${m.slice(0, 219)}…` : m;
}

interface FaultLane {
  readonly target: string | undefined;
  readonly kind: string;
  readonly faults: PlacedFault[];
}

/** One lane per target and kind, in order of first appearance, so the plan's order reads top to bottom. */
function laneFaults(faults: readonly PlacedFault[]): FaultLane[] {
  const lanes = new Map<string, FaultLane>();
  for (const f of faults) {
    const key = JSON.stringify([f.fault.target ?? null, f.fault.kind]);
    const lane = lanes.get(key) ?? { target: f.fault.target, kind: f.fault.kind, faults: [] };
    lane.faults.push(f);
    lanes.set(key, lane);
  }
  return [...lanes.values()];
}

/** Cuts `text` to about `width` units of 11.5-unit text. */
function fit(text: string, width: number): string {
  const max = Math.floor(width / 6.4);
  if (text.length <= max) return text;
  return max <= 1 ? '' : `${text.slice(0, max - 1)}…`;
}

function faultLane(L: Layout, y: number, lane: FaultLane): string {
  const name = lane.target === undefined ? lane.kind : `${lane.target} · ${lane.kind}`;
  // Target above, kind under it (kinds are long: commit-boundary-crash); a fault of no one target: its kind.
  const label =
    lane.target === undefined
      ? `<text x="8" y="${y + 14}" font-size="11.5" dominant-baseline="central"><title>${esc(name)}</title>${esc(fit(lane.kind, PLOT_X0 - 14))}</text>`
      : `<text x="8" y="${y + 8}" font-size="11.5" dominant-baseline="central"><title>${esc(name)}</title>${esc(fit(lane.target, PLOT_X0 - 14))}<tspan x="8" y="${y + 20.5}" font-size="10.5" fill="${MUTED}">${esc(fit(lane.kind, (PLOT_X0 - 14) * 1.1))}</tspan></text>`;
  const bars = lane.faults
    .map((f) => {
      const x0 = L.x(f.start);
      const w = Math.max(L.x(f.end) - x0, 3);
      const end = f.fault.end ?? L.input.endedAt;
      const title = `${f.n}. ${f.fault.label}\n${f.fault.kind}${f.fault.target === undefined ? '' : ` → ${f.fault.target}`}\n${formatOffset(f.fault.start, L.input.startedAt)} – ${f.open ? 'end of run' : formatOffset(end, L.input.startedAt)} (${formatDuration(end - f.fault.start)})\n${f.fault.effect === undefined ? 'effect not recorded' : `Effect: ${f.fault.effect}`}`;
      const fill = f.open ? `url(#tl-fade-${f.n})` : f.color;
      const gradient = f.open
        ? `<defs><linearGradient id="tl-fade-${f.n}"><stop offset="0.7" stop-color="${f.color}"/><stop offset="1" stop-color="${f.color}" stop-opacity="0.15"/></linearGradient></defs>`
        : '';
      const text = fit(`${f.n} ${f.fault.label}`, w - 8);
      return `<g class="tl-fault" data-fault="${f.n}" data-label="${esc(f.fault.label)}" data-open="${f.open}">${gradient}<title>${esc(title)}</title><rect x="${r1(x0)}" y="${y + 5}" width="${r1(w)}" height="18" rx="3" fill="${fill}" fill-opacity="0.9"/>${text ? `<text x="${r1(x0 + 5)}" y="${y + 14.5}" font-size="11" font-weight="600" fill="#fff" dominant-baseline="central">${esc(text)}</text>` : ''}</g>`;
    })
    .join('');
  return `<g class="tl-fault-lane">${label}${bars}</g>`;
}

function instanceLane(
  L: Layout,
  y: number,
  lane: NonNullable<ReportInput['timeline']>['instances'][number],
): { svg: string; markers: number } {
  const { axis, input } = L;
  const events = [...lane.events].sort((a, b) => a.time - b.time);
  // The state at the start of the axis: what the events before it left.
  let state: 'up' | 'paused' | 'down' = events.length > 0 && events[0]!.kind !== 'running' ? 'down' : 'up';
  let i = 0;
  for (; i < events.length && events[i]!.time < axis.start; i++) state = stateAfter(events[i]!.kind, state);
  const earlier = i;
  const bandY = y + 22;
  const bands: string[] = [];
  let from = axis.start;
  const band = (to: number, s: typeof state) => {
    if (to <= from) return;
    const bx = L.x(from);
    const w = L.x(to) - bx;
    const title = `${lane.id} ${s === 'up' ? 'up' : s === 'paused' ? 'paused' : 'down'}: ${formatOffset(from, input.startedAt)} – ${to >= axis.end ? 'end of run' : formatOffset(to, input.startedAt)} (${formatDuration(to - from)})`;
    if (s === 'down')
      bands.push(
        `<rect x="${r1(bx)}" y="${bandY - 3}" width="${r1(w)}" height="6" fill="#fff" stroke="#9ca3af" stroke-width="0.8" stroke-dasharray="3 2" data-state="down"><title>${esc(title)}</title></rect>`,
      );
    else
      bands.push(
        `<rect x="${r1(bx)}" y="${bandY - 3}" width="${r1(w)}" height="6" rx="2" fill="${s === 'up' ? UP : PAUSED}" fill-opacity="${s === 'up' ? 0.45 : 0.75}" data-state="${s}"><title>${esc(title)}</title></rect>`,
      );
  };
  const marks: string[] = [];
  for (; i < events.length; i++) {
    const e = events[i]!;
    if (e.time > axis.end) break;
    const next = stateAfter(e.kind, state);
    if (next !== state) {
      band(e.time, state);
      from = e.time;
      state = next;
    }
    if (e.kind === 'running') continue; // the state, not an event of the run
    const ex = L.x(e.time);
    // An exit and the next start are often a few ms apart: the exit sits on the band from above, the start
    // from below, so both stay visible.
    const gy = ACTS.has(e.kind) ? y + 7 : e.kind === 'exited' ? bandY - 5 : e.kind === 'started' ? bandY + 5 : bandY;
    const title = `${lane.id} ${KIND_WORDS[e.kind]} at ${formatOffset(e.time, input.startedAt)}${e.note ? ` — ${e.note}` : ''}`;
    marks.push(
      `<g class="tl-life" data-kind="${e.kind}" data-time="${e.time}"><title>${esc(title)}</title>${glyph(e.kind, ex, gy)}</g>`,
    );
  }
  band(axis.end, state);
  const later = events.length - i;
  const hidden = [
    earlier > 0 ? `${earlier} event${earlier === 1 ? '' : 's'} before the run's start (its state at the start)` : '',
    later > 0 ? `${later} after its end` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const labelTitle = `${lane.id}: ${lane.events.length} event${lane.events.length === 1 ? '' : 's'} recorded${hidden ? `; not drawn: ${hidden}` : ''}`;
  const label = `<text x="8" y="${bandY - 3}" font-size="11.5" font-weight="600" dominant-baseline="central"><title>${esc(labelTitle)}</title>${esc(fit(lane.id, PLOT_X0 - 14))}</text>`;
  return {
    svg: `<g class="tl-instance" data-instance="${esc(lane.id)}" data-markers="${marks.length}">${label}${bands.join('')}${marks.join('')}</g>`,
    markers: marks.length,
  };
}

const RATE_PANEL_H = 72;
const INSTANCE_LANE_H = 34;
const FAULT_LANE_H = 28;

function seriesColor(group: 'inputs' | 'outputs', name: string, i: number): string {
  return group === 'inputs'
    ? (INPUT_COLORS[name] ?? OUTPUT_COLORS[i % OUTPUT_COLORS.length]!)
    : OUTPUT_COLORS[i % OUTPUT_COLORS.length]!;
}

/** The most hover columns a rate panel gets (bins are grouped beyond). */
const MAX_HOVER_COLUMNS = 400;

function ratePanel(
  L: Layout,
  y: number,
  group: 'inputs' | 'outputs',
  series: NonNullable<ReportInput['timeline']>['rates'],
  binMs: number,
  faults: readonly PlacedFault[],
): { svg: string; shading: string } {
  const { axis, input } = L;
  const perSecond = 1000 / binMs;
  // Bins inside the axis only: bin i covers [startedAt + i·binMs, … + binMs).
  const bins = Math.max(0, Math.ceil((axis.end - input.startedAt) / binMs));
  const visible = series.map((s) => s.counts.slice(0, bins));
  const peak = Math.max(0, ...visible.flatMap((c) => c.map((n) => n * perSecond)));
  const top = niceCeil(peak);
  const bottomY = y + RATE_PANEL_H;
  const yOf = (v: number) => bottomY - (v / top) * (RATE_PANEL_H - 4);
  const binX = (i: number) => L.x(Math.min(axis.end, input.startedAt + i * binMs));

  const shading = faults
    .map((f) => {
      const x0 = L.x(f.start);
      return `<rect x="${r1(x0)}" y="${y}" width="${r1(Math.max(L.x(f.end) - x0, 2))}" height="${RATE_PANEL_H}" fill="${f.color}" fill-opacity="0.1"/>`;
    })
    .join('');

  const scale = [0, top / 2, top]
    .map((v) => {
      const gy = r1(yOf(v));
      return `<line x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${gy}" y2="${gy}" stroke="${GRID}" stroke-dasharray="${v === 0 ? '' : '2 3'}"/><text x="${PLOT_X0 - 6}" y="${gy}" text-anchor="end" font-size="10.5" fill="${MUTED}" dominant-baseline="central">${rateWord(v)}${v === 0 ? '' : '/s'}</text>`;
    })
    .join('');

  const lines = series.map((s, si) => {
    const counts = visible[si]!;
    const color = seriesColor(group, s.name, si);
    // Drawn where the series has events only, each run of non-empty bins rising from the zero line and back,
    // so that the zero line stays the panel's (a rare series must not paint it in its colour).
    let d = '';
    const zero = r1(yOf(0));
    counts.forEach((n, i) => {
      const before = i > 0 ? counts[i - 1]! : 0;
      if (n === 0) {
        if (before !== 0) d += `V${zero}`;
        return;
      }
      d += before === 0 ? `M${r1(binX(i))} ${zero}V${r1(yOf(n * perSecond))}` : `V${r1(yOf(n * perSecond))}`;
      d += `H${r1(binX(i + 1))}`;
    });
    if ((counts.at(-1) ?? 0) !== 0) d += `V${zero}`;
    const total = s.counts.reduce((a, b) => a + b, 0);
    const peakOf = Math.max(0, ...counts) * perSecond;
    const title = `${s.name}: ${total} in all, peak ${rateWord(peakOf)}/s (bins of ${binMs} ms)`;
    // Lines that coincide (published and acknowledged, usually) stay both visible: the first is drawn wide,
    // the others thin over it.
    return `<path class="tl-rate" data-series="${esc(s.name)}" data-group="${group}" data-points="${counts.length}" data-total="${counts.reduce((a, b) => a + b, 0)}" d="${d === '' ? 'M0 0' : d}" fill="none" stroke="${color}" stroke-width="${si === 0 ? 2.8 : 1.4}" stroke-linejoin="round"><title>${esc(title)}</title></path>`;
  });

  // Hover columns: the values of every line of the panel in one bin (or a few, on a long run).
  const k = Math.max(1, Math.ceil(bins / MAX_HOVER_COLUMNS));
  const cols: string[] = [];
  for (let i = 0; i < bins; i += k) {
    const j = Math.min(bins, i + k);
    const from = input.startedAt + i * binMs;
    const to = Math.min(axis.end, input.startedAt + j * binMs);
    const values = series
      .map((s, si) => {
        const c = visible[si]!.slice(i, j);
        const mean = (c.reduce((a, b) => a + b, 0) / Math.max(1, j - i)) * perSecond;
        return `${s.name} ${rateWord(mean)}/s`;
      })
      .join(', ');
    const x0 = binX(i);
    cols.push(
      `<rect x="${r1(x0)}" y="${y}" width="${r1(Math.max(binX(j) - x0, 0.5))}" height="${RATE_PANEL_H}" fill="#000" fill-opacity="0"><title>${esc(`${formatOffset(from, input.startedAt)} – ${formatOffset(to, input.startedAt)}: ${values}`)}</title></rect>`,
    );
  }
  return {
    svg: `<g class="tl-rates" data-group="${group}">${scale}${lines.join('')}<g class="tl-hover">${cols.join('')}</g></g>`,
    shading,
  };
}

/** The HTML legend under the SVG: what each mark means, and the lines' colours. */
function legend(input: ReportInput, rates: NonNullable<ReportInput['timeline']>['rates']): string {
  const icon = (inner: string, box = '-7 -7 14 14', w = 14, h = 14) =>
    `<svg class="lg-icon" viewBox="${box}" width="${w}" height="${h}" aria-hidden="true">${inner}</svg>`;
  const pin = (atEnd: boolean) => icon(violationGlyph(0, 0, 1, atEnd, 8.5), '-9 -9 18 22', 13, 16);
  const item = (iconHtml: string, text: string) => `<span class="lg-item">${iconHtml}${esc(text)}</span>`;
  const groups: string[] = [];
  if (input.verdicts.length > 0)
    groups.push(
      `<div class="lg-group"><b>Violations</b>${item(pin(false), 'first counterexample of a failing checker (click: its verdict row)')}${item(pin(true), 'no counterexample carries a time: judged at the end of the run')}</div>`,
    );
  groups.push(
    `<div class="lg-group"><b>Faults</b>${item(icon(`<rect x="-6" y="-4" width="12" height="8" rx="2" fill="#f59e0b"/>`), 'fault window, numbered as in the table')}${item(icon(`<defs><linearGradient id="lg-fade"><stop offset="0.4" stop-color="#f59e0b"/><stop offset="1" stop-color="#f59e0b" stop-opacity="0.15"/></linearGradient></defs><rect x="-6" y="-4" width="12" height="8" rx="2" fill="url(#lg-fade)"/>`), 'lasted until the end')}</div>`,
  );
  if ((input.timeline?.instances.length ?? 0) > 0) {
    const k = (kind: LifecycleKind, text: string) => item(icon(glyph(kind, 0, 0)), text);
    groups.push(
      `<div class="lg-group"><b>Instances</b>${item(icon(`<rect x="-6" y="-2.5" width="12" height="5" fill="${UP}" fill-opacity="0.45"/>`), 'up')}${item(icon(`<rect x="-6" y="-2.5" width="12" height="5" fill="${PAUSED}" fill-opacity="0.75"/>`), 'paused')}${item(icon(`<rect x="-6" y="-2.5" width="12" height="5" fill="#fff" stroke="#9ca3af" stroke-dasharray="3 2"/>`), 'down')}${k('started', 'started')}${k('ready', 'ready')}${k('joined', 'joined the group')}${k('exited', 'exited')}<span class="lg-sep">above the band, the lab's acts:</span>${k('stopping', 'asked to stop')}${k('killed', 'killed')}${k('paused', 'paused')}${k('resumed', 'resumed')}</div>`,
    );
  }
  for (const group of ['inputs', 'outputs'] as const) {
    const series = rates.filter((r) => r.group === group);
    if (series.length === 0) continue;
    const swatches = series
      .map((s, i) =>
        item(
          icon(`<line x1="-6" x2="6" y1="0" y2="0" stroke="${seriesColor(group, s.name, i)}" stroke-width="2.5"/>`),
          s.name,
        ),
      )
      .join('');
    groups.push(
      `<div class="lg-group"><b>${group === 'inputs' ? 'Inputs' : 'Outputs'}</b>${swatches}${group === 'inputs' ? item(icon(`<rect x="-6" y="-5" width="12" height="10" fill="#f59e0b" fill-opacity="0.25"/>`), 'shading: fault windows') : ''}</div>`,
    );
  }
  return `<div class="tl-legend">${groups.join('')}</div>`;
}
