/**
 * What the page inlines: uPlot's script and stylesheet (read from node_modules, so the page needs no network and
 * no copy of uPlot is kept here) and the report's own script and stylesheet from `assets/` — one level above both
 * `src/` and `dist/`, so the same relative URL works when running from source and from the build.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface ReportAssets {
  readonly uplotJs: string;
  readonly uplotCss: string;
  readonly reportJs: string;
  readonly reportCss: string;
}

const require = createRequire(import.meta.url);
const assetUrl = (name: string): URL => new URL(`../assets/${name}`, import.meta.url);

let cached: ReportAssets | undefined;

/**
 * Read once per process and synchronously, because `renderReport` returns a string: a run writes one report, a
 * test suite a few, and the files do not change under us.
 */
export function loadAssets(): ReportAssets {
  cached ??= {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    reportJs: readFileSync(assetUrl('report.js'), 'utf8'),
    reportCss: readFileSync(assetUrl('report.css'), 'utf8'),
  };
  return cached;
}
