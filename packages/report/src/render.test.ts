import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeHtml, formatDuration, formatSeconds, jsonForScript, offsetTicks } from './format.js';
import type { ReportInput } from './model.js';
import { renderReport, writeReport } from './render.js';
import { PLOT_X0, PLOT_X1 } from './timeline.js';
import { sampleReportInput } from './sample.js';

const ATTACK = `</script><script>alert("x")</script><img src=x onerror=alert(1)>"'&`;

/** Every string the page shows, set to an injection attempt. */
function hostileInput(): ReportInput {
  const input = sampleReportInput();
  return {
    ...input,
    title: ATTACK,
    runId: ATTACK,
    replayCommand: `${ATTACK} && rm -rf /`,
    facts: [{ label: ATTACK, value: ATTACK }],
    faults: input.faults.map((f) => ({ ...f, label: ATTACK, kind: ATTACK, target: ATTACK, effect: ATTACK })),
    charts: input.charts.map((c, i) => ({
      ...c,
      title: ATTACK,
      unit: ATTACK,
      note: ATTACK,
      series: c.series.map((s, j) => ({ ...s, name: `${ATTACK}${i}.${j}` })),
    })),
    verdicts: [{ checker: ATTACK, valid: false, summary: ATTACK, counterexamples: [{ note: ATTACK }, ATTACK] }],
    thresholds: [{ metric: ATTACK, expression: ATTACK, ok: false, actual: ATTACK }],
    textSummary: ATTACK,
    logs: [{ name: ATTACK, href: `logs/${ATTACK}` }],
  };
}

/** `toContain` on a 100 kB page prints the page on failure; this prints the missing snippet only. */
function expectIn(html: string, snippet: string): void {
  expect(html.includes(snippet), `page should contain ${snippet}`).toBe(true);
}

function expectMatch(html: string, pattern: RegExp): void {
  expect(pattern.test(html), `page should match ${String(pattern)}`).toBe(true);
}

/** The embedded data block, cut where an HTML parser would end it: at the first `</script`. */
function dataBlock(html: string): string {
  const open = '<script type="application/json" id="report-data">';
  const start = html.indexOf(open);
  expect(start).toBeGreaterThan(0);
  const from = start + open.length;
  return html.slice(from, html.toLowerCase().indexOf('</script', from));
}

describe('renderReport escaping', () => {
  const html = renderReport(hostileInput());

  it('lets no markup from the input through', () => {
    // Matches are compared rather than the page, so a failure prints the offending snippet, not 100 kB of HTML.
    expect(html.match(/<img[^>]*/i)?.[0]).toBeUndefined();
    expect(html.match(/<script>alert[^<]*/i)?.[0]).toBeUndefined();
    // Exactly the page's own three scripts: the data block, uPlot, the report's script.
    expect(html.match(/<script\b/gi)).toHaveLength(3);
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
    // Inside tags, only the page's own quotes: an input quote would end an attribute value early.
    const attributes = html.match(/ (title|href|data-label)="[^"]*"/g) ?? [];
    expect(attributes.length).toBeGreaterThan(5);
    expect(attributes.filter((a) => a.includes('<'))).toEqual([]);
  });

  it('shows the attack as text', () => {
    expectIn(html, escapeHtml(ATTACK));
    expect(escapeHtml(ATTACK)).toBe(
      '&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;',
    );
  });

  it('keeps the JSON block whole and its strings intact', () => {
    const data = JSON.parse(dataBlock(html)) as {
      charts: { series: { name: string }[] }[];
      faults: { label: string }[];
    };
    expect(data.charts[0]?.series[0]?.name).toBe(`${ATTACK}0.0`);
    expect(data.faults[1]?.label).toBe(ATTACK);
  });

  it('escapes what would end or confuse a script element', () => {
    const json = jsonForScript({ s: '</script><!-- \u2028 &' });
    expect(json).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(json)).toEqual({ s: '</script><!-- \u2028 &' });
  });
});

describe('renderReport', () => {
  it('is self-contained: no external script, stylesheet or image', () => {
    const html = renderReport(sampleReportInput());
    expect(/<script[^>]+src=/i.exec(html)?.[0]).toBeUndefined();
    expect(/<link\b/i.exec(html)?.[0]).toBeUndefined();
    expect(/<img\b/i.exec(html)?.[0]).toBeUndefined();
    expect(/url\(\s*['"]?https?:/i.exec(html)?.[0]).toBeUndefined();
    expectIn(html, 'uPlot'); // inlined from node_modules
  });

  it('is deterministic', () => {
    expect(renderReport(sampleReportInput())).toBe(renderReport(sampleReportInput()));
  });

  it('shows the outcome, times, duration and the replay command', () => {
    const html = renderReport(sampleReportInput());
    expectIn(html, '<span class="badge badge-bad">INVALID</span>');
    expectIn(html, '2025-06-01 12:00:00 UTC');
    expectIn(html, '5 min 00 s');
    expectIn(html, '<pre id="replay-command"><code>npm run lab -- run pipeline --seed 3</code></pre>');
  });

  it('marks a chart without points as empty and says why, in the HTML itself', () => {
    const input = sampleReportInput();
    input.charts[2]!.series = [{ name: 'lag', points: [] }];
    input.charts[1]!.series = input.charts[1]!.series.map((s) => ({ ...s, points: s.points.map(([t]) => [t, null]) }));
    const html = renderReport(input);
    const lag = html.slice(html.indexOf('data-chart-id="consumer-lag"'));
    expectMatch(lag, /^data-chart-id="consumer-lag" data-empty="true" data-drawn="false" data-points="0"/);
    expectIn(lag, '<b>No data</b><span>No points for lag.</span>');
    expectIn(html, 'Every point of p50, p99 is null.');
    expectMatch(html, /data-chart-id="throughput" data-empty="false" data-drawn="false"/);
    const data = JSON.parse(dataBlock(html)) as { charts: { id: string }[] };
    expect(data.charts.map((c) => c.id)).toEqual(['throughput']);
  });

  it('counts points outside the run window as no data', () => {
    const input = sampleReportInput();
    input.charts[2]!.series[0]!.points = [[input.startedAt - 10_000, 5]];
    const html = renderReport(input);
    expectIn(html, '1 point, all outside the run&#39;s time window.');
  });

  it('draws a fault without an end as lasting until the run ends', () => {
    const input = sampleReportInput();
    delete input.faults[1]!.end;
    const html = renderReport(input);
    // From T+150 s to the end of 300 s: half the plot, fading out.
    const bar =
      /<g class="tl-fault" data-fault="2" data-label="kill -9 instance-2" data-open="true">[\s\S]*?<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="url\(#tl-fade-2\)"/.exec(
        html,
      );
    expect(bar, 'the open fault bar').not.toBeNull();
    const half = (PLOT_X1 - PLOT_X0) / 2;
    expect(Number(bar![1])).toBeCloseTo(PLOT_X0 + half, 0);
    expect(Number(bar![2])).toBeCloseTo(half, 0);
    expectIn(html, '<linearGradient id="tl-fade-2">');
    expectIn(html, 'T+2 min 30 s – end of run (2 min 30 s)');
    expectIn(html, 'until the end');
    const data = JSON.parse(dataBlock(html)) as { faults: { end: number }[] };
    expect(data.faults[1]?.end).toBe(input.endedAt);
  });

  it('puts one lane per target and kind', () => {
    const input = sampleReportInput();
    input.faults.push({
      ...input.faults[0]!,
      label: 'again',
      start: input.startedAt + 200_000,
      end: input.startedAt + 210_000,
    });
    const html = renderReport(input);
    expect(html.match(/class="tl-fault-lane"/g)).toHaveLength(2);
    expect(html.match(/class="tl-fault"/g)).toHaveLength(3);
    expectIn(html, '<g class="tl-faults" data-faults="3">');
  });
});

describe('renderReport for a load run', () => {
  it('shows the thresholds, the text summary and the outcome', () => {
    const { timeline: _timeline, ...chaos } = sampleReportInput();
    const input: ReportInput = {
      ...chaos,
      kind: 'load',
      title: 'ingest — 200 rps',
      outcome: 'failed',
      faults: [],
      verdicts: [],
      thresholds: [
        { metric: 'http_req_duration', expression: 'p(95)<250', ok: false, actual: 'p(95)=312ms' },
        { metric: 'http_req_failed', expression: 'rate<0.01', ok: true, actual: 'rate=0.002' },
      ],
      textSummary: '     http_req_duration..: avg=81ms p(95)=312ms\n     http_reqs..........: 60000 200/s',
    };
    const html = renderReport(input);
    expectIn(html, '<div class="kicker">Load run');
    expectIn(html, '<span class="badge badge-bad">FAILED</span>');
    expectIn(html, 'thresholds: <b class="t-bad">1 of 2 held</b>');
    expectMatch(
      html,
      /<code>p\(95\)&lt;250<\/code><\/td><td class="num">p\(95\)=312ms<\/td><td><span class="badge badge-bad">crossed/,
    );
    expectIn(html, '<pre class="text-summary">     http_req_duration..: avg=81ms p(95)=312ms\n');
    expectIn(html, 'No faults were injected in this run.');
    expectIn(html, '<g class="tl-faults" data-faults="0">');
    // No checkers, no instances, no rates: the timeline has its axis and its fault lane only.
    for (const part of ['tl-violations', 'tl-instances', 'tl-rates'])
      expect(html.includes(`class="${part}"`), part).toBe(false);
  });
});

describe('writeReport', () => {
  it('writes dir/report.html and returns its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-write-'));
    try {
      const path = await writeReport(join(dir, 'nested'), sampleReportInput());
      expect(path).toBe(join(dir, 'nested', 'report.html'));
      expect(await readFile(path, 'utf8')).toBe(renderReport(sampleReportInput()));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('formats', () => {
  it.each([
    [850, '850 ms'],
    [1500, '1.5 s'],
    [12_340, '12.3 s'],
    [252_000, '4 min 12 s'],
    [3_720_000, '1 h 02 min'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('puts time ticks at round steps from the run’s start, labelled in seconds', () => {
    const start = Date.UTC(2025, 0, 1, 12, 0, 7, 321);
    const ticks = offsetTicks(start, start + 300_000);
    expect(ticks.map((t) => t - start)).toEqual(Array.from({ length: 11 }, (_, k) => k * 30_000));
    expect(offsetTicks(start, start + 5_200).map((t) => t - start)).toEqual([
      0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000,
    ]);
    expect(offsetTicks(start, start + 40_000, 12).map((t) => t - start)).toEqual([
      0, 5000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000,
    ]);
    expect(formatSeconds(2500, true)).toBe('2.5 s');
    expect(formatSeconds(30_000, false)).toBe('30 s');
  });
});
