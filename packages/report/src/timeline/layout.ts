/**
 * The timeline's frame, shared by every lane: the view box's geometry, where a time falls on it
 * ({@link Layout}), the palette, and what spans all the lanes — the time axis above and below them, the grid,
 * the separators and the section labels in the left column.
 */
import { escapeHtml as esc, formatOffset } from '../format.js';
import type { ReportInput } from '../model.js';

/** The view box's width; the page shows it at about 1:1 at its widest. */
export const TIMELINE_WIDTH = 1160;
/** Where the time axis starts and ends, in view box units: a label column on the left, room for a tick label on the right. */
export const PLOT_X0 = 172;
export const PLOT_X1 = TIMELINE_WIDTH - 22;

/** The shared time axis (see render.ts). */
export interface TimelineAxis {
  readonly start: number;
  readonly end: number;
  /** Tick times (epoch ms) and their labels, in seconds from the start. */
  readonly ticks: readonly { t: number; label: string }[];
}

/** What every lane draws with: the run, its axis, and the x of a time (epoch ms) on it. */
export interface Layout {
  readonly x: (t: number) => number;
  readonly axis: TimelineAxis;
  readonly input: ReportInput;
}

export function layoutOf(input: ReportInput, axis: TimelineAxis): Layout {
  const span = axis.end - axis.start;
  const x = (t: number) => PLOT_X0 + ((t - axis.start) / span) * (PLOT_X1 - PLOT_X0);
  return { x, axis, input };
}

/** A band of the figure drawn from a given y down: its markup and its height. */
export interface Slice {
  readonly svg: string;
  readonly height: number;
}

/** The palette: presentation attributes, so the SVG is whole on its own. */
export const FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif";
export const INK = '#111827';
export const MUTED = '#6b7280';
export const GRID = '#e5e7eb';
export const BAD = '#dc2626';
export const UP = '#16a34a';
export const PAUSED = '#f59e0b';

/** The height of the time axis row, above the lanes and again below them. */
export const AXIS_ROW_H = 26;

/** A coordinate as written: to a tenth of a unit. */
export const r1 = (v: number): string => String(Math.round(v * 10) / 10);

/** Cuts `text` to about `width` units of 11.5-unit text. */
export function fit(text: string, width: number): string {
  const max = Math.floor(width / 6.4);
  if (text.length <= max) return text;
  return max <= 1 ? '' : `${text.slice(0, max - 1)}…`;
}

export function separator(y: number): string {
  return `<line x1="0" x2="${TIMELINE_WIDTH}" y1="${y}" y2="${y}" stroke="${GRID}" stroke-width="1"/>`;
}

export function sectionLabel(y: number, text: string, title: string): string {
  return `<text x="8" y="${y}" font-size="11" font-weight="700" fill="${MUTED}" letter-spacing="0.06em" dominant-baseline="central"><title>${esc(title)}</title>${esc(text.toUpperCase())}</text>`;
}

export function axisRow(L: Layout, y: number, side: 'top' | 'bottom'): string {
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

/** A vertical grid line at each tick, from `y1` to `y2` (the lanes' body). */
export function gridLines(L: Layout, y1: number, y2: number): string {
  return L.axis.ticks
    .map((t) => {
      const gx = r1(L.x(t.t));
      return `<line x1="${gx}" x2="${gx}" y1="${y1}" y2="${y2}" stroke="${GRID}" stroke-width="1"/>`;
    })
    .join('');
}
