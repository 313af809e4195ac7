/**
 * A PNG of a written report's timeline, as Chromium draws it: the page is opened from disk (no network) at a
 * 1280 px wide viewport, its script let finish, and the timeline figure (`#run-timeline`: the SVG and its
 * legend) saved. The screenshots under `docs/screenshots/` are made with it from real runs:
 *
 *     node packages/report/dist/screenshot.js runs/<run>/seed-1/report.html docs/screenshots/timeline-valid.png
 *
 * (`scripts/timeline-screenshots.sh` runs the two lab runs they show and calls this on their reports.)
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './browser-check.js';
import { ReportError } from './errors.js';

export interface ScreenshotOptions {
  /** Viewport width in CSS px. Default 1280 (the page is at most 1240 px wide). */
  readonly width?: number;
  /** Device pixels per CSS px. Default 1. */
  readonly scale?: number;
  /** How long loading and drawing may take, in ms. Default 30 000. */
  readonly timeoutMs?: number;
}

/** Saves the timeline of the report at `htmlPath` as a PNG at `pngPath` (its folder created); returns its size. */
export async function screenshotTimeline(
  htmlPath: string,
  pngPath: string,
  o: ScreenshotOptions = {},
): Promise<{ width: number; height: number }> {
  const timeout = o.timeoutMs ?? 30_000;
  const browser = await launchChromium({ timeoutMs: timeout });
  try {
    const page = await browser.newPage({
      viewport: { width: o.width ?? 1280, height: 900 },
      deviceScaleFactor: o.scale ?? 1,
    });
    await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: 'load', timeout });
    await page.waitForFunction(`document.documentElement.dataset.reportReady === 'true'`, undefined, { timeout });
    const figure = page.locator('#run-timeline');
    if ((await figure.count()) === 0) throw new ReportError(`${htmlPath} has no timeline (#run-timeline)`);
    await mkdir(dirname(resolve(pngPath)), { recursive: true });
    await figure.screenshot({ path: pngPath, timeout });
    const box = await figure.boundingBox();
    return { width: Math.round(box?.width ?? 0), height: Math.round(box?.height ?? 0) };
  } finally {
    await browser.close();
  }
}

async function main(args: readonly string[]): Promise<number> {
  if (args.length < 2 || args.length % 2 !== 0) {
    process.stderr.write('usage: screenshot.js <report.html> <out.png> [<report.html> <out.png> …]\n');
    return 2;
  }
  for (let i = 0; i < args.length; i += 2) {
    const [html, png] = [args[i]!, args[i + 1]!];
    const size = await screenshotTimeline(html, png);
    process.stdout.write(`${png}: the timeline of ${html} (${size.width} × ${size.height} px)\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`screenshot: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
