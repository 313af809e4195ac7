/**
 * The timeline's legend, in HTML under the SVG: what each mark means, drawn with the figure's own glyphs, and
 * the rate lines' colours.
 */
import { escapeHtml as esc } from '../format.js';
import type { LifecycleKind, RateSeries, ReportInput } from '../model.js';
import { glyph } from './instances.js';
import { PAUSED, UP } from './layout.js';
import { seriesColor } from './rates.js';
import { violationGlyph } from './violations.js';

export function legend(input: ReportInput, rates: readonly RateSeries[]): string {
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
