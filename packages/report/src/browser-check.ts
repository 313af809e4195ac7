/**
 * Opens a written report in headless Chromium and says what a reviewer would see: whether the page's script
 * finished, every console error or warning and uncaught exception, each chart's state (drawn, empty, points,
 * and whether its canvas holds any pixel of a series colour), and what the timeline shows — its fault windows,
 * instance events, rate lines (and their points), violation markers and whether each links to its verdict row,
 * and whether it holds pixels at all (the SVG drawn into a canvas and counted). The package's own browser test
 * uses it on sample data; a test on a real run's report can use the same checks.
 *
 * Exported as `@chaos-lab/report/browser` so that importing the renderer never loads playwright-core.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { ChromiumNotFoundError, ReportError } from './errors.js';

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * The lab's machines have no network: without these Chromium keeps trying (updates, sync, QUIC probes) and
 * floods the log with refused connections.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchChromiumOptions {
  /** Default {@link DEFAULT_CHROMIUM_PATH}. */
  readonly executablePath?: string;
  /** How long Chromium may take to start, in ms. Default 30 000. */
  readonly timeoutMs?: number;
}

/** Starts headless Chromium; throws {@link ChromiumNotFoundError} (naming the path and the apt package) if absent. */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<Browser> {
  const executablePath = options.executablePath ?? DEFAULT_CHROMIUM_PATH;
  try {
    await access(executablePath, constants.X_OK);
  } catch (cause) {
    throw new ChromiumNotFoundError(executablePath, { cause });
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: options.timeoutMs ?? 30_000,
  });
}

export interface CheckReportOptions {
  /** Where to save a full-page PNG; its folder is created. Default: no screenshot. */
  readonly screenshotPath?: string;
  /** A browser to open the page in (left open). Default: one is launched and closed again. */
  readonly browser?: Browser;
  /** Used only when no `browser` is given. Default {@link DEFAULT_CHROMIUM_PATH}. */
  readonly executablePath?: string;
  /** How long loading and drawing may take, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Default 1280 × 900 (the page is at most 1240 px wide). */
  readonly viewport?: { readonly width: number; readonly height: number };
}

export interface ChartCheck {
  readonly id: string;
  /** The page's script drew the chart (`data-drawn="true"`). */
  readonly drawn: boolean;
  /** The report rendered the chart as having no data (`data-empty="true"`). */
  readonly empty: boolean;
  /** Points with a value the chart drew (`data-points`). */
  readonly points: number;
  /** No pixel of any series colour in the plot area: nothing of the data is visible. */
  readonly blank: boolean;
  /** How many plot-area pixels have a series colour. */
  readonly seriesPixels: number;
  /** The "no data" message is on screen. */
  readonly noDataShown: boolean;
  /** The script failed on this chart (`data-error="true"`). */
  readonly error: boolean;
}

export interface TimelineCheck {
  /** The page has the timeline's SVG. */
  readonly present: boolean;
  /** Its size on the page, CSS px (0 when not laid out). */
  readonly width: number;
  readonly height: number;
  /** Pixels of the SVG, drawn into a canvas at its size, that are neither white nor transparent. */
  readonly inkPixels: number;
  /** Of those, pixels of a rate line's colour. */
  readonly ratePixels: number;
  /** Instance lanes. */
  readonly instances: number;
  /** Lifecycle markers visible, in all and by kind (`killed`, `joined`…). */
  readonly lifecycleMarkers: number;
  readonly lifecycleByKind: Record<string, number>;
  /** The time axis's span, ms (`data-end` − `data-start`), and the width of a rate bin, ms (0: no rates). */
  readonly axisMs: number;
  readonly binMs: number;
  /** Each rate line: its name, group, how many bins it covers (`data-points`) and events it counts (`data-total`). */
  readonly rates: { name: string; group: string; points: number; total: number }[];
  /** Violation markers visible. */
  readonly violationMarkers: number;
  /** Failing verdict rows on the page: each should have a marker. */
  readonly violationsExpected: number;
  /** Each marker's link: where it points and whether that is a verdict row of the page. */
  readonly violationLinks: { checker: string; href: string; resolves: boolean; atEnd: boolean }[];
}

export interface ReportCheck {
  /** The page's script ran to its end (`<html data-report-ready="true">`). */
  readonly ready: boolean;
  /** Console errors and warnings, uncaught exceptions, and any request that left the file (the page must not). */
  readonly consoleErrors: string[];
  readonly charts: ChartCheck[];
  /** Fault windows visible on the timeline. */
  readonly faultsShown: number;
  /** Faults the report says it has (`data-faults` on the timeline's fault lanes). */
  readonly faultsExpected: number;
  /** Labels of the visible fault windows, in page order. */
  readonly faultLabels: string[];
  readonly timeline: TimelineCheck;
}

/** Runs in the page; a string, so the package's TypeScript does not need the DOM library. */
const IN_PAGE_CHECK = String.raw`(async () => {
  const visible = (el) => {
    if (!el) return false;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.display !== 'none' && s.visibility !== 'hidden' && Number(s.opacity) > 0;
  };
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const charts = [];
  for (const el of document.querySelectorAll('.chart[data-chart-id]')) {
    const colors = (el.dataset.colors || '').split(',').filter((c) => /^#[0-9a-f]{6}$/i.test(c)).map(rgb);
    const canvas = el.querySelector('canvas');
    let seriesPixels = 0;
    if (canvas && canvas.width > 0 && canvas.height > 0 && colors.length > 0) {
      const plot = (el.dataset.plot || '').split(',').map(Number);
      const [x, y, w, h] = plot.length === 4 && plot.every(Number.isFinite) ? plot : [0, 0, canvas.width, canvas.height];
      const px = canvas.getContext('2d').getImageData(x, y, Math.max(1, w), Math.max(1, h)).data;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] < 200) continue;
        for (const [r, g, b] of colors) {
          if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) <= 48) {
            seriesPixels++;
            break;
          }
        }
      }
    }
    charts.push({
      id: el.dataset.chartId,
      drawn: el.dataset.drawn === 'true',
      empty: el.dataset.empty === 'true',
      points: Number(el.dataset.points || 0) || 0,
      blank: seriesPixels === 0,
      seriesPixels,
      noDataShown: visible(el.querySelector('.no-data')),
      error: el.dataset.error === 'true',
    });
  }
  const svg = document.querySelector('svg.timeline-svg');
  const faultLanes = svg && svg.querySelector('.tl-faults');
  const bars = svg ? [...svg.querySelectorAll('.tl-fault')].filter(visible) : [];
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  let inkPixels = 0;
  let ratePixels = 0;
  if (svg && box.width > 0 && box.height > 0) {
    // The SVG styles itself with attributes, so a serialised copy draws as the page does.
    const copy = svg.cloneNode(true);
    copy.setAttribute('width', String(Math.round(box.width)));
    copy.setAttribute('height', String(Math.round(box.height)));
    const img = new Image();
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(copy));
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(box.width);
    canvas.height = Math.round(box.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const rateColors = [...new Set([...svg.querySelectorAll('.tl-rate')].map((p) => p.getAttribute('stroke') || ''))]
      .filter((c) => /^#[0-9a-f]{6}$/i.test(c))
      .map(rgb);
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 200 || (px[i] > 245 && px[i + 1] > 245 && px[i + 2] > 245)) continue;
      inkPixels++;
      for (const [r, g, b] of rateColors) {
        if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) <= 48) {
          ratePixels++;
          break;
        }
      }
    }
  }
  const life = svg ? [...svg.querySelectorAll('.tl-life')].filter(visible) : [];
  const lifecycleByKind = {};
  for (const m of life) lifecycleByKind[m.dataset.kind] = (lifecycleByKind[m.dataset.kind] || 0) + 1;
  const markers = svg ? [...svg.querySelectorAll('a.tl-violation')].filter(visible) : [];
  return {
    charts,
    faultsShown: bars.length,
    faultsExpected: Number(faultLanes ? faultLanes.dataset.faults : 0) || 0,
    faultLabels: bars.map((b) => b.dataset.label || ''),
    timeline: {
      present: Boolean(svg),
      width: Math.round(box.width),
      height: Math.round(box.height),
      inkPixels,
      ratePixels,
      axisMs: svg ? Number(svg.dataset.end || 0) - Number(svg.dataset.start || 0) : 0,
      binMs: svg ? Number(svg.dataset.binMs || 0) || 0 : 0,
      instances: svg ? svg.querySelectorAll('.tl-instance').length : 0,
      lifecycleMarkers: life.length,
      lifecycleByKind,
      rates: svg
        ? [...svg.querySelectorAll('.tl-rate')].map((p) => ({
            name: p.dataset.series || '',
            group: p.dataset.group || '',
            points: Number(p.dataset.points || 0) || 0,
            total: Number(p.dataset.total || 0) || 0,
          }))
        : [],
      violationMarkers: markers.length,
      violationsExpected: document.querySelectorAll('#verdicts tr.verdict-bad').length,
      violationLinks: markers.map((a) => {
        const href = a.getAttribute('href') || '';
        const target = href.startsWith('#') ? document.getElementById(decodeURIComponent(href.slice(1))) : null;
        return {
          checker: a.dataset.checker || '',
          href,
          resolves: Boolean(target && target.matches('#verdicts tr')),
          atEnd: a.dataset.atEnd === 'true',
        };
      }),
    },
  };
})()`;

/** Opens `htmlPath` (a file) in Chromium and reports what it shows; see {@link ReportCheck}. */
export async function checkReportInBrowser(htmlPath: string, options: CheckReportOptions = {}): Promise<ReportCheck> {
  const timeout = options.timeoutMs ?? 30_000;
  const browser =
    options.browser ?? (await launchChromium({ executablePath: options.executablePath, timeoutMs: timeout }));
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning')
        consoleErrors.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.stack ?? err.message}`));
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith('file:') && !url.startsWith('data:') && !url.startsWith('blob:')) {
        consoleErrors.push(`request outside the file: ${url}`);
      }
    });

    await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: 'load', timeout });
    let ready = true;
    try {
      await page.waitForFunction(`document.documentElement.dataset.reportReady === 'true'`, undefined, { timeout });
    } catch {
      ready = false;
      consoleErrors.push(`the page's script did not finish within ${timeout} ms`);
    }
    // uPlot draws in a microtask after construction; one frame later every chart has run its draw hook.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const found = (await page.evaluate(IN_PAGE_CHECK)) as Omit<ReportCheck, 'ready' | 'consoleErrors'>;
    if (!found || !Array.isArray(found.charts)) throw new ReportError(`the in-page check returned ${String(found)}`);

    if (options.screenshotPath) {
      await mkdir(dirname(options.screenshotPath), { recursive: true });
      await page.screenshot({ path: options.screenshotPath, fullPage: true, timeout });
    }
    return { ready, consoleErrors, ...found };
  } finally {
    await context.close();
    if (!options.browser) await browser.close();
  }
}

/**
 * Everything wrong with a checked report, one sentence each; empty when the page is fine. A chart that is
 * honestly marked empty (and says so on screen) is not a problem; one that should have drawn and did not is.
 */
export function reportProblems(check: ReportCheck): string[] {
  const problems = [...check.consoleErrors];
  if (!check.ready && !problems.some((p) => p.includes('did not finish')))
    problems.push("the page's script did not finish");
  for (const c of check.charts) {
    if (c.error) problems.push(`chart ${c.id}: the script failed to draw it`);
    if (c.empty) {
      if (!c.noDataShown) problems.push(`chart ${c.id}: marked empty but no "no data" message is visible`);
      continue;
    }
    if (!c.drawn) problems.push(`chart ${c.id}: not drawn`);
    else if (c.points === 0) problems.push(`chart ${c.id}: drawn with 0 points`);
    else if (c.blank) problems.push(`chart ${c.id}: canvas shows no series pixel (${c.points} points)`);
  }
  if (check.faultsShown !== check.faultsExpected) {
    problems.push(`fault timeline shows ${check.faultsShown} of ${check.faultsExpected} faults`);
  }
  const t = check.timeline;
  if (!t.present) problems.push('no timeline');
  else {
    if (t.width === 0 || t.height === 0) problems.push('timeline not laid out');
    else if (t.inkPixels < 500) problems.push(`timeline blank (${t.inkPixels} drawn pixels)`);
    for (const r of t.rates.filter((r) => r.points === 0)) problems.push(`timeline: rate line ${r.name} has no point`);
    // A line is drawn where it has events: an idle run honestly has none to show.
    if (t.rates.some((r) => r.total > 0) && t.ratePixels === 0) problems.push('timeline: no pixel of any rate line');
    if (t.violationMarkers !== t.violationsExpected)
      problems.push(`timeline shows ${t.violationMarkers} of ${t.violationsExpected} violations`);
    for (const l of t.violationLinks.filter((l) => !l.resolves))
      problems.push(`timeline: the marker of ${l.checker} links to ${l.href || 'nothing'}, not a verdict row`);
  }
  return problems;
}
