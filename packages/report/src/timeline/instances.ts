/**
 * The instance lanes: one per coordinator instance, a band for its state (up, paused, down) and a glyph per
 * lifecycle event — what the lab did to it above the band (asked to stop, killed, paused, resumed), what the
 * process did on it (started, ready, joined its group, exited).
 */
import { escapeHtml as esc, formatDuration, formatOffset } from '../format.js';
import type { InstanceLane, LifecycleKind } from '../model.js';
import { BAD, fit, INK, PAUSED, PLOT_X0, r1, sectionLabel, UP, type Layout, type Slice } from './layout.js';

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

const INSTANCE_LANE_H = 34;

/** The instances section at `y`: its label and a lane per instance. */
export function instancesSlice(L: Layout, y: number, lanes: readonly InstanceLane[]): Slice {
  const rows: string[] = [sectionLabel(y + 11, 'Instances', 'Each instance: its state and what happened to it')];
  let laneY = y + 20;
  let markers = 0;
  for (const lane of lanes) {
    const drawn = instanceLane(L, laneY, lane);
    markers += drawn.markers;
    rows.push(drawn.svg);
    laneY += INSTANCE_LANE_H;
  }
  return {
    svg: `<g class="tl-instances" data-instances="${lanes.length}" data-markers="${markers}">${rows.join('')}</g>`,
    height: laneY + 2 - y,
  };
}

function instanceLane(L: Layout, y: number, lane: InstanceLane): { svg: string; markers: number } {
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
