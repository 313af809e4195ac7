/**
 * `lab report` on a real seed folder saved before the report's own data was (fixtures/README.md): the page is
 * rebuilt from the folder alone, the same page as the run wrote but for what the folder did not keep — the
 * Prometheus series (each chart says so) and the exact times (taken from the files' times).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHAOS_CHARTS } from '../report/run-report.js';
import { reportCommand, seedFoldersOf } from './report.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'instance-crash-5seeds-20261204T193801');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** A copy of the fixture's suite folder in a temp dir. */
function copyOfFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lab-report-'));
  dirs.push(dir);
  const suite = join(dir, 'instance-crash-5seeds-20261204T193801');
  cpSync(fixture, suite, { recursive: true });
  return suite;
}

function section(page: string, id: string): string {
  const m = new RegExp(`<section id="${id}">[\\s\\S]*?</section>`).exec(page);
  if (!m) throw new Error(`no section ${id}`);
  return m[0];
}

function pageData(page: string): { start: number; end: number; faults: { label: string }[] } {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page);
  return JSON.parse(m![1]!) as { start: number; end: number; faults: { label: string }[] };
}

/** Runs `lab report` in-process: its exit code, stdout and stderr. */
async function labReport(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await reportCommand(argv), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('lab report', () => {
  it('rebuilds a saved seed folder’s page from the folder alone, saying what it could not keep', async () => {
    const seedDir = join(copyOfFixture(), 'seed-1');
    const original = readFileSync(join(seedDir, 'report.html'), 'utf8');
    // A checkout does not keep the files' times: set them as the run wrote the files.
    const planWritten = new Date(1_796_413_100_000);
    const summaryWritten = new Date(1_796_413_160_000);
    utimesSync(join(seedDir, 'plan.json'), planWritten, planWritten);
    utimesSync(join(seedDir, 'summary.json'), summaryWritten, summaryWritten);

    const r = await labReport([seedDir]);

    expect(r).toMatchObject({ code: 0, out: `${join(seedDir, 'report.html')}\n` });
    expect(r.err).toContain('seed-1: no charts.json (the run predates it): the page has no Prometheus charts');
    expect(r.err).toContain("no report block in summary.json: its times are estimated from the files' times");
    const page = readFileSync(join(seedDir, 'report.html'), 'utf8');
    expect(page).not.toBe(original);
    for (const id of ['facts', 'logs']) expect(section(page, id), id).toBe(section(original, id));
    // The verdict rows are the same; the page of today gives each an anchor (the timeline's violation markers link to it).
    const unanchored = (html: string) => html.replace(/ id="verdict-[a-z-]+"/g, '');
    expect(unanchored(section(page, 'verdicts'))).toBe(unanchored(section(original, 'verdicts')));
    expect(pageData(page).faults.map((f) => f.label)).toEqual(pageData(original).faults.map((f) => f.label));
    // The work began with the first publish, 4078 ms into the history; the record ended when summary.json was written.
    expect(pageData(page)).toMatchObject({ start: planWritten.getTime() + 4078, end: summaryWritten.getTime() });
    const charts = section(page, 'charts');
    for (const c of CHAOS_CHARTS) expect(charts).toContain(c.title);
    expect(charts.match(/not saved: this run folder predates charts\.json/g)).toHaveLength(CHAOS_CHARTS.length);
    expect(page).toContain('npm run lab -- run instance-crash --seed 1');
  });

  it('rebuilds every seed of a suite folder, and names a folder that is not a run folder', async () => {
    const suite = copyOfFixture();
    const r = await labReport([suite]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${join(suite, 'seed-1', 'report.html')}\n`);
    expect((await seedFoldersOf(suite, 'lab report')).seeds).toEqual([join(suite, 'seed-1')]);
    await expect(labReport([dirname(suite)])).rejects.toThrow(
      /^lab report: expected a run folder: .* \(it has no seed-N folder\) \(got ".*"\)$/,
    );
    await expect(labReport([join(suite, 'nope')])).rejects.toThrow(
      /^lab report: expected a run folder.*\(got ".*nope"\)$/,
    );
    await expect(labReport([])).rejects.toThrow(/^lab report: expected one argument, a run folder/);
    await expect(labReport([suite, '--charts'])).rejects.toThrow('lab report: expected no options (got "--charts")');
  });
});
