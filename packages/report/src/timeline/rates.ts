/**
 * The rate panels: inputs per second and outputs per second, one step line per series from its counts per
 * bin (100 ms for a chaos seed), the fault windows shaded behind, and hover columns that read every line's
 * value in a bin.
 */
import { escapeHtml as esc, formatOffset } from '../format.js';
import type { RateSeries } from '../model.js';
import type { PlacedFault } from './faults.js';
import { GRID, MUTED, PLOT_X0, PLOT_X1, r1, sectionLabel, type Layout, type Slice } from './layout.js';

/** Input and output line colours (inputs: published blue, acknowledged green, not acknowledged red). */
export const INPUT_COLORS: Record<string, string> = {
  published: '#2563eb',
  acknowledged: '#16a34a',
  'not acknowledged': '#dc2626',
};
export const OUTPUT_COLORS = ['#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4d7c0f', '#c2410c', '#1e3a8a'];

export function seriesColor(group: 'inputs' | 'outputs', name: string, i: number): string {
  return group === 'inputs'
    ? (INPUT_COLORS[name] ?? OUTPUT_COLORS[i % OUTPUT_COLORS.length]!)
    : OUTPUT_COLORS[i % OUTPUT_COLORS.length]!;
}

/** `1, 2, 5 × 10^k` at or above `v` (at least 1). */
export function niceCeil(v: number): number {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const rateWord = (v: number): string => (v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

const RATE_PANEL_H = 72;

/** The most hover columns a rate panel gets (bins are grouped beyond). */
const MAX_HOVER_COLUMNS = 400;

/**
 * The panel of one group, under its label at `sliceY`; its fault shading apart, for the figure to draw under
 * everything.
 */
export function ratePanel(
  L: Layout,
  sliceY: number,
  group: 'inputs' | 'outputs',
  series: readonly RateSeries[],
  binMs: number,
  faults: readonly PlacedFault[],
): Slice & { readonly shading: string } {
  const label = sectionLabel(
    sliceY + 11,
    group === 'inputs' ? 'Inputs /s' : 'Outputs /s',
    group === 'inputs'
      ? 'Publishes per second (invoked, acknowledged by the broker)'
      : 'Output messages observed per second, by type',
  );
  const y = sliceY + 18;
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
    svg: `${label}<g class="tl-rates" data-group="${group}">${scale}${lines.join('')}<g class="tl-hover">${cols.join('')}</g></g>`,
    shading,
    height: 18 + RATE_PANEL_H + 8,
  };
}
