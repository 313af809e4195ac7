/**
 * The fault lanes: one per target and kind, in order of first appearance, with one numbered bar per fault
 * window (numbered as in the page's fault table); a fault without an end fades out at the run's end.
 */
import { escapeHtml as esc, formatDuration, formatOffset } from '../format.js';
import type { Fault } from '../model.js';
import { fit, MUTED, PLOT_X0, r1, sectionLabel, type Layout, type Slice } from './layout.js';

/** A fault as the page draws it (see render.ts). */
export interface PlacedFault {
  readonly n: number;
  readonly fault: Fault;
  readonly start: number;
  readonly end: number;
  readonly open: boolean;
  readonly color: string;
}

const FAULT_LANE_H = 28;

/** The faults section at `y`: its lanes, or a line saying there were none. */
export function faultsSlice(L: Layout, y: number, faults: readonly PlacedFault[]): Slice {
  const lanes = laneFaults(faults);
  if (lanes.length === 0)
    return {
      svg: `<g class="tl-faults" data-faults="0">${sectionLabel(y + 16, 'Faults', 'Fault windows')}<text x="${PLOT_X0 + 6}" y="${y + 16}" font-size="11.5" fill="${MUTED}" dominant-baseline="central">No faults were injected in this run.</text></g>`,
      height: 32,
    };
  const rows: string[] = [sectionLabel(y + 11, 'Faults', 'Fault windows, one lane per target and kind')];
  let laneY = y + 20;
  for (const lane of lanes) {
    rows.push(faultLane(L, laneY, lane));
    laneY += FAULT_LANE_H;
  }
  return {
    svg: `<g class="tl-faults" data-faults="${faults.length}">${rows.join('')}</g>`,
    height: laneY + 4 - y,
  };
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
