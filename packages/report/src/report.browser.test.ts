/**
 * The report in a real browser: Chromium at /usr/bin/chromium opens the written file (file://, no network) and
 * `checkReportInBrowser` — the same checks a test on a real run's report uses — must find every chart drawn
 * with visible lines, the timeline drawn (pixels), its fault windows, instance events, dense rate lines and
 * violation markers whose links reach their verdict rows, and not one console error or warning. A missing
 * Chromium fails the suite (with the install command) rather than skipping it: a skipped check proves nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CHROMIUM_PATH,
  checkReportInBrowser,
  launchChromium,
  reportProblems,
  type ReportCheck,
} from './browser-check.js';
import { ChromiumNotFoundError } from './errors.js';
import { fiveSeconds } from './five-seconds.test-support.js';
import type { ReportInput } from './model.js';
import { writeReport } from './render.js';
import { sampleReportInput } from './sample.js';

const SCREENSHOT = fileURLToPath(new URL('../screenshots/sample-report.png', import.meta.url));
const TEST_TIMEOUT = 60_000;

let browser: Browser | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-browser-'));
  browser = await launchChromium({ timeoutMs: 30_000 });
}, 45_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

function started(): Browser {
  if (!browser) throw new Error('Chromium did not start (see the beforeAll error)');
  return browser;
}

async function check(name: string, input: ReportInput, screenshotPath?: string): Promise<ReportCheck> {
  const path = await writeReport(join(dir, name), input);
  return checkReportInBrowser(path, { browser: started(), screenshotPath, timeoutMs: 30_000 });
}

describe('report in Chromium', () => {
  it(
    'draws every chart and both faults without a console error',
    async () => {
      const result = await check('sample', sampleReportInput(), SCREENSHOT);
      expect(result.consoleErrors).toEqual([]);
      expect(result.ready).toBe(true);
      expect(result.charts.map((c) => c.id)).toEqual(['throughput', 'assign-latency', 'consumer-lag']);
      for (const chart of result.charts) {
        expect(chart, chart.id).toMatchObject({ drawn: true, empty: false, blank: false, error: false });
        // Points with a value, as the sample made them: 3 × 300 minus instance-2's 40 s down; 2 × 300; 150.
        expect(chart.points, chart.id).toBe({ throughput: 860, 'assign-latency': 600, 'consumer-lag': 150 }[chart.id]);
        expect(chart.seriesPixels, chart.id).toBeGreaterThan(200);
      }
      expect(result.faultsShown).toBe(2);
      expect(result.faultLabels).toEqual(['Redis +200 ms', 'kill -9 instance-2']);
      const t = result.timeline;
      expect(t).toMatchObject({ present: true, instances: 3, violationMarkers: 2, violationsExpected: 2 });
      expect(t.width).toBeGreaterThan(1100);
      expect(t.inkPixels).toBeGreaterThan(20_000);
      expect(t.ratePixels).toBeGreaterThan(2000);
      // Each instance joined twice (at the start, and in the rebalance after the kill); instance-2's second life.
      expect(t.lifecycleByKind).toEqual({ joined: 6, killed: 1, exited: 1, started: 1, ready: 1 });
      expect(t.rates.map((r) => [r.name, r.points])).toEqual([
        ['published', 300],
        ['acknowledged', 300],
        ['slot assigned', 300],
        ['batch ready', 300],
      ]);
      expect(t.violationLinks).toEqual([
        { checker: 'no-lost-content', href: '#verdict-no-lost-content', resolves: true, atEnd: false },
        { checker: 'stores-agree', href: '#verdict-stores-agree', resolves: true, atEnd: true },
      ]);
      expect(reportProblems(result)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'draws a five-second run densely: 50 points a rate line, every lifecycle event, markers that jump to their rows',
    async () => {
      const path = await writeReport(join(dir, 'five-seconds'), fiveSeconds());
      const result = await checkReportInBrowser(path, { browser: started(), timeoutMs: 30_000 });
      expect(reportProblems(result)).toEqual([]);
      const t = result.timeline;
      expect([t.axisMs, t.binMs]).toEqual([5000, 100]);
      for (const r of t.rates) expect(r.points, r.name).toBe(50);
      expect(t.ratePixels).toBeGreaterThan(500);
      expect(t.lifecycleMarkers).toBe(6);
      expect(t.lifecycleByKind).toMatchObject({ killed: 1, exited: 1, started: 1, joined: 1, paused: 1 });
      expect(t.violationLinks.map((l) => [l.checker, l.resolves])).toEqual([
        ['no-duplicate-assignment', true],
        ['stores-agree', true],
      ]);
      expect(result.faultsShown).toBe(1);

      // A click on a marker jumps to its verdict row, which is then the page's target and on screen.
      const page = await started().newPage({ viewport: { width: 1200, height: 800 } });
      try {
        await page.goto(pathToFileURL(path).href);
        await page.waitForFunction(`document.documentElement.dataset.reportReady === 'true'`, undefined, {
          timeout: 30_000,
        });
        for (const id of ['verdict-no-duplicate-assignment', 'verdict-stores-agree']) {
          await page.evaluate('window.scrollTo(0, 0)');
          await page.click(`a.tl-violation[href="#${id}"]`, { timeout: 10_000 });
          await expect.poll(() => page.evaluate('location.hash')).toBe(`#${id}`);
          expect(await page.evaluate(`document.querySelector(':target')?.id`)).toBe(id);
          const row = await page.locator(`#${id}`).boundingBox();
          expect(row, id).not.toBeNull();
          expect(row!.y).toBeGreaterThanOrEqual(-1);
          expect(row!.y).toBeLessThan(800);
        }
        // And the row links back to the marker.
        await page.click('#verdict-stores-agree a.violation-when');
        await expect.poll(() => page.evaluate('location.hash')).toBe('#violation-stores-agree');
        // Hover titles: the marker says what and when.
        expect(await page.locator('a.tl-violation[href="#verdict-stores-agree"] > title').textContent()).toContain(
          'judged from the final read',
        );
        expect(await page.locator('.tl-life[data-kind="killed"] > title').textContent()).toBe(
          'coordinator-2 killed (SIGKILL) at T+1 s — pid 11',
        );
      } finally {
        await page.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'gives a fault its effect as a hover title and lines the charts’ plot area up under the timeline',
    async () => {
      const path = await writeReport(join(dir, 'hover'), sampleReportInput());
      const page = await started().newPage({ viewport: { width: 1280, height: 900 } });
      try {
        await page.goto(pathToFileURL(path).href);
        await page.waitForFunction(`document.documentElement.dataset.reportReady === 'true'`, undefined, {
          timeout: 30_000,
        });
        expect(await page.locator('.tl-fault[data-fault="2"] > title').textContent()).toContain(
          'pid 41872 gone; restarted at T+190 s',
        );

        // The kill lasted 150–190 s of 300 s: its bar must sit where the charts shade it.
        const bar = await page.locator('.tl-fault[data-fault="2"] > rect').boundingBox();
        const plot = await page.locator('.chart[data-chart-id="throughput"] .u-over').boundingBox();
        if (!bar || !plot) throw new Error('fault bar or plot area not laid out');
        expect(Math.abs(bar.x - (plot.x + plot.width * 0.5))).toBeLessThan(2);
        expect(Math.abs(bar.width - plot.width * (40 / 300))).toBeLessThan(2);

        // The cursor on one chart moves every chart's cursor and the timeline's: T+165 s is inside the kill.
        const over = page.locator('.chart[data-chart-id="throughput"] .u-over');
        await over.scrollIntoViewIfNeeded();
        const seen = await over.boundingBox();
        if (!seen) throw new Error('plot area not laid out');
        await page.mouse.move(seen.x + seen.width * 0.55, seen.y + 40);
        const lagLegend = page.locator('.chart[data-chart-id="consumer-lag"] .u-legend');
        await expect.poll(() => lagLegend.innerText(), { timeout: 5_000 }).toContain('T+2 min 44 s');
        expect(await page.locator('.chart[data-chart-id="throughput"] .u-legend').innerText()).toMatch(
          /T\+2 min 45 s[\s\S]*instance-2\s*—/,
        );
        // Same page, same x: the timeline's cursor line sits at the pointer's x whatever the scroll position.
        await expect.poll(() => page.locator('.tl-cursor').getAttribute('visibility')).toBe('visible');
        const cursor = await page.locator('.tl-cursor').boundingBox();
        if (!cursor) throw new Error('the timeline cursor is not shown');
        expect(Math.abs(cursor.x - (seen.x + seen.width * 0.55))).toBeLessThan(3);
      } finally {
        await page.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'says "no data" for a chart without points, and the check reports it as empty',
    async () => {
      const input = sampleReportInput();
      input.charts[1]!.series = input.charts[1]!.series.map((s) => ({ ...s, points: [] }));
      const result = await check('empty', input);
      expect(result.consoleErrors).toEqual([]);
      const byId = new Map(result.charts.map((c) => [c.id, c]));
      expect(byId.get('assign-latency')).toMatchObject({
        empty: true,
        drawn: false,
        points: 0,
        blank: true,
        noDataShown: true,
      });
      // The other charts in the same page are not mistaken for empty.
      expect(byId.get('throughput')).toMatchObject({ empty: false, drawn: true, blank: false });
      expect(byId.get('consumer-lag')).toMatchObject({ empty: false, drawn: true, blank: false });
      // Honestly empty is not a defect of the page.
      expect(reportProblems(result)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'catches a chart that claims to be drawn but shows nothing, a hidden no-data message, a missing fault, a blank timeline, a dead marker link and a console error',
    async () => {
      // A hand-made page with each defect the checks exist for, so a check that always passes would fail here.
      const path = join(dir, 'broken.html');
      await writeFile(
        path,
        `<!doctype html><html data-report-ready="true"><body>
<div class="chart" data-chart-id="blank" data-empty="false" data-drawn="true" data-points="12" data-colors="#2563eb"><canvas width="200" height="80"></canvas></div>
<div class="chart" data-chart-id="painted" data-empty="false" data-drawn="true" data-points="3" data-colors="#2563eb" data-plot="0,0,200,80"><canvas id="c" width="200" height="80"></canvas></div>
<div class="chart" data-chart-id="silent-empty" data-empty="true" data-drawn="false" data-points="0"><div class="no-data" style="display:none">No data</div></div>
<svg class="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 60" width="400" height="60"><g class="tl-faults" data-faults="2"><g class="tl-fault" data-label="shown"><rect x="0" y="0" width="40" height="10" fill="#fff"/></g><g class="tl-fault" data-label="hidden" style="display:none"><rect x="50" y="0" width="40" height="10" fill="#fff"/></g></g><path class="tl-rate" data-series="published" data-group="inputs" data-points="0" data-total="3" d="" stroke="#2563eb"/><a class="tl-violation" href="#verdict-gone" data-checker="gone"><rect x="100" y="0" width="12" height="12" fill="#fff"/></a></svg>
<table id="verdicts"><tr class="verdict-bad" id="verdict-x"><td>x</td></tr><tr class="verdict-bad" id="verdict-y"><td>y</td></tr></table>
<script>
  const ctx = document.getElementById('c').getContext('2d');
  ctx.strokeStyle = '#2563eb'; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(0, 40); ctx.lineTo(200, 40); ctx.stroke();
  console.error('something broke');
</script></body></html>`,
      );
      const result = await checkReportInBrowser(path, { browser: started(), timeoutMs: 10_000 });
      const byId = new Map(result.charts.map((c) => [c.id, c]));
      expect(byId.get('blank')).toMatchObject({ drawn: true, blank: true, seriesPixels: 0 });
      expect(byId.get('painted')).toMatchObject({ drawn: true, blank: false });
      expect(byId.get('painted')!.seriesPixels).toBeGreaterThan(300);
      expect(byId.get('silent-empty')).toMatchObject({ empty: true, noDataShown: false });
      expect(result.faultsShown).toBe(1);
      expect(result.faultLabels).toEqual(['shown']);
      expect(result.timeline).toMatchObject({
        present: true,
        inkPixels: 0,
        violationMarkers: 1,
        violationsExpected: 2,
      });
      expect(reportProblems(result)).toEqual([
        'console.error: something broke',
        'chart blank: canvas shows no series pixel (12 points)',
        'chart silent-empty: marked empty but no "no data" message is visible',
        'fault timeline shows 1 of 2 faults',
        'timeline blank (0 drawn pixels)',
        'timeline: rate line published has no point',
        'timeline: no pixel of any rate line',
        'timeline shows 1 of 2 violations',
        'timeline: the marker of gone links to #verdict-gone, not a verdict row',
      ]);
    },
    TEST_TIMEOUT,
  );

  it(
    'runs none of the markup an input smuggles in',
    async () => {
      const attack = `</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">"'`;
      const input = sampleReportInput();
      input.title = attack;
      input.facts[0]!.value = attack;
      input.faults[0]!.effect = attack;
      input.timeline!.instances[0]!.id = attack;
      input.timeline!.rates[0]!.name = attack;
      input.charts[0]!.series[0]!.name = attack;
      input.verdicts[1]!.counterexamples = [{ value: attack }];
      const path = await writeReport(join(dir, 'hostile'), input);
      const result = await checkReportInBrowser(path, { browser: started(), timeoutMs: 30_000 });
      expect(reportProblems(result)).toEqual([]);

      const page = await started().newPage();
      try {
        await page.goto(pathToFileURL(path).href);
        await page.waitForFunction(`document.documentElement.dataset.reportReady === 'true'`, undefined, {
          timeout: 30_000,
        });
        expect(await page.evaluate('window.__pwned ?? null')).toBeNull();
        expect(await page.locator('img').count()).toBe(0);
        expect(await page.locator('script').count()).toBe(3);
        expect(await page.locator('h1').innerText()).toBe(attack);
        // The series name reaches uPlot's legend as text.
        expect(await page.locator('.chart[data-chart-id="throughput"] .u-legend').innerText()).toContain(attack);
      } finally {
        await page.close();
      }
    },
    TEST_TIMEOUT,
  );
});

describe('launchChromium', () => {
  it('names the path and the apt package when Chromium is missing', async () => {
    expect(DEFAULT_CHROMIUM_PATH).toBe('/usr/bin/chromium');
    const missing = join(dir, 'no-such-chromium');
    const launching = launchChromium({ executablePath: missing });
    await expect(launching).rejects.toThrow(ChromiumNotFoundError);
    await expect(launching).rejects.toThrow(`Chromium not found at ${missing}`);
    await expect(launching).rejects.toThrow('apt-get install chromium');
  }, 10_000);
});
