/**
 * The timeline as markup: what it marks and where, its links and titles. (How it looks, and that it is drawn
 * at all, is checked in Chromium by report.browser.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { fiveSeconds } from './five-seconds.test-support.js';
import { renderReport } from './render.js';
import { niceCeil, PLOT_X0, PLOT_X1, spreadMarkers, verdictRowIds } from './timeline.js';

/** The timeline's SVG of a page. */
function svgOf(html: string): string {
  const m = /<svg class="timeline-svg"[\s\S]*?<\/svg>/.exec(html);
  expect(m, 'the timeline SVG').not.toBeNull();
  return m![0];
}

const count = (text: string, re: RegExp): number => text.match(re)?.length ?? 0;

describe('timeline markup', () => {
  const html = renderReport(fiveSeconds());
  const svg = svgOf(html);

  it('comes first in the page, before the facts and the charts', () => {
    expect(html.indexOf('<section id="timeline">')).toBeGreaterThan(0);
    expect(html.indexOf('<section id="timeline">')).toBeLessThan(html.indexOf('<section id="facts">'));
    expect(html.indexOf('<section id="timeline">')).toBeLessThan(html.indexOf('<section id="charts">'));
  });

  it('marks each failing checker, linked to its verdict row: at its first counterexample, or at the end saying so', () => {
    const ids = verdictRowIds(fiveSeconds().verdicts);
    expect(ids).toEqual([
      'verdict-one-ready-per-batch',
      'verdict-no-duplicate-assignment',
      'verdict-stores-agree',
      'verdict-inputs-consumed',
    ]);
    for (const id of ids) expect(html.includes(`<tr class="verdict-`) && html.includes(`id="${id}"`), id).toBe(true);
    const marks = [
      ...svg.matchAll(
        /<a href="#([^"]+)" class="tl-violation"[^>]*data-at-end="(\w+)" data-time="(\d+)"><title>([^<]*)<\/title>/g,
      ),
    ];
    expect(marks.map((m) => [m[1], m[2]])).toEqual([
      ['verdict-no-duplicate-assignment', 'false'],
      ['verdict-stores-agree', 'true'],
    ]);
    const t0 = fiveSeconds().startedAt;
    expect(Number(marks[0]![3])).toBe(t0 + 3200);
    expect(marks[0]![4]).toContain(
      'first counterexample at T+3.2 s (counterexample 1 of 2: the history entry it names)',
    );
    expect(Number(marks[1]![3])).toBe(t0 + 5000);
    expect(marks[1]![4]).toContain(
      'at the end of the run: judged from the final read (no counterexample of it carries a time)',
    );
    // The rows say it too, and link back to the markers.
    expect(html).toContain('href="#violation-no-duplicate-assignment"');
    expect(html).toContain('first counterexample at T+3.2 s — counterexample 1 of 2');
    expect(html).toContain('judged at the end of the run (no counterexample carries a time)');
    expect(svg).toContain('id="violation-stores-agree"');
  });

  it('draws each instance’s events inside the window, and its state: up, down between exit and start, paused', () => {
    expect(count(svg, /<g class="tl-instance" /g)).toBe(3);
    const kinds = [...svg.matchAll(/<g class="tl-life" data-kind="(\w+)"/g)].map((m) => m[1]);
    // Not `running` (a state, not an event of the run), nothing before the start or after the end.
    expect(kinds).toEqual(['killed', 'exited', 'started', 'ready', 'joined', 'paused']);
    expect(svg).toContain('data-markers="6"');
    const states = [...svg.matchAll(/data-state="(\w+)"><title>([^<]*)<\/title>/g)].map((m) => `${m[1]}: ${m[2]}`);
    expect(states).toEqual([
      'up: coordinator-1 up: T+0 ms – end of run (5 s)',
      'up: coordinator-2 up: T+0 ms – T+1 s (1 s)',
      'down: coordinator-2 down: T+1 s – T+2.4 s (1.4 s)',
      'up: coordinator-2 up: T+2.4 s – end of run (2.6 s)',
      'up: &lt;b&gt;coordinator-3&lt;/b&gt; up: T+0 ms – T+700 ms (700 ms)',
      'paused: &lt;b&gt;coordinator-3&lt;/b&gt; paused: T+700 ms – end of run (4.3 s)',
    ]);
    expect(svg).toContain('coordinator-2 killed (SIGKILL) at T+1 s — pid 11');
    expect(svg).toContain('1 after its end');
    expect(svg).not.toContain('<b>coordinator-3');
  });

  it('draws a rate line of 50 points per series for 5 s at 100 ms, with hover titles per bin', () => {
    const lines = [
      ...svg.matchAll(
        /<path class="tl-rate" data-series="([^"]+)" data-group="(\w+)" data-points="(\d+)" data-total="\d+" d="([^"]+)"/g,
      ),
    ];
    expect(lines.map((m) => [m[1], m[2], Number(m[3])])).toEqual([
      ['published', 'inputs', 50],
      ['acknowledged', 'inputs', 50],
      ['slot assigned', 'outputs', 50],
    ]);
    // A step line: one level and one run per bin, from the axis start to its end.
    const d = lines[0]![4]!;
    expect(count(d, /H/g)).toBe(50);
    expect(d.startsWith(`M${PLOT_X0} `)).toBe(true);
    expect(d).toContain(`H${PLOT_X1}V`);
    expect(svg).toContain('published: 225 in all, peak 50/s (bins of 100 ms)');
    expect(count(svg, /<rect [^>]*fill-opacity="0"><title>T\+/g)).toBe(100);
    expect(svg).toContain('<title>T+1.2 s – T+1.3 s: published 50/s, acknowledged 40/s</title>');
    // The y scale: a round top above the peak.
    expect(svg).toContain('>50/s</text>');
  });

  it('has a title on every mark, and a legend', () => {
    for (const cls of ['tl-fault', 'tl-life', 'tl-violation'])
      for (const m of svg.matchAll(new RegExp(`class="${cls}"[^>]*>(.{0,7})`, 'g'))) expect(m[1], cls).toBe('<title>');
    expect(html).toContain('<div class="tl-legend">');
    for (const words of ['joined the group', 'killed', 'judged at the end of the run', 'slot assigned', 'fault window'])
      expect(html, words).toContain(words);
  });

  it('says when there is no violation, or only unknowns', () => {
    const input = fiveSeconds();
    input.verdicts = input.verdicts.filter((v) => v.valid === true);
    expect(svgOf(renderReport(input))).toContain('None: all 1 checkers held.');
    input.verdicts.push({ checker: 'x', valid: 'unknown', summary: '', counterexamples: [] });
    expect(svgOf(renderReport(input))).toContain('None found; 1 checker could not decide (unknown).');
  });
});

describe('timeline helpers', () => {
  it('spreads markers that would cover each other, keeping order and the axis end', () => {
    expect(spreadMarkers([100, 300], 17, 1000)).toEqual([100, 300]);
    expect(spreadMarkers([100, 105, 110], 17, 1000)).toEqual([100, 117, 134]);
    // Three at the end: the cluster moves left from the end.
    expect(spreadMarkers([1000, 1000, 1000], 17, 1000)).toEqual([966, 983, 1000]);
    expect(spreadMarkers([990, 500], 17, 1000)).toEqual([990, 500]);
  });

  it('rounds a scale top up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect([0, 0.4, 1, 7, 12, 40, 99, 101, 240, 260].map(niceCeil)).toEqual([1, 1, 1, 10, 20, 50, 100, 200, 250, 500]);
  });

  it('gives verdict rows unique ids an href can name', () => {
    const v = (checker: string) => ({ checker, valid: true as const, summary: '', counterexamples: [] });
    expect(verdictRowIds([v('a b'), v('a b'), v('c/"d'), v('a-b')])).toEqual([
      'verdict-a-b',
      'verdict-a-b-2',
      'verdict-c-d',
      'verdict-a-b-3',
    ]);
  });
});
