/**
 * The pipeline scenario end to end at a small size: a real environment, three
 * real coordinator processes, the real checkers. It fails if any checker
 * finds a violation or the pipeline does not finish.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coordinatorEntry, runScenario, type ScenarioDefinition } from '@chaos-lab/lab';
import { planAssignmentWorkload } from '@chaos-lab/model';
import { checkReportInBrowser, reportProblems } from '@chaos-lab/report/browser';
import { scenario } from './index.js';

const small: ScenarioDefinition = {
  ...scenario,
  name: 'pipeline-small',
  timeoutMs: 60_000,
  // Spread over a few seconds, so the report's charts (Prometheus scrapes every second) have points to draw.
  paceMs: 4000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 6,
      slotsPerBatch: 5,
      burstCopies: 6,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};

describe('pipeline scenario', () => {
  it('passes every checker with 3 instances, and writes the run folder', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'pipeline-test-runs-'));
    let passed = false;
    try {
      const lines: string[] = [];
      const r = await runScenario(small, {
        seed: 11,
        coordinatorEntry: coordinatorEntry(),
        runsDir,
        out: (l) => lines.push(l),
        progress: () => {},
      });
      expect(r.verdicts.filter((v) => v.valid !== true)).toEqual([]);
      expect(r.valid).toBe(true);
      expect(r.stats.timedOut).toBe(false);
      // SIGTERM: every instance finished its work, left the group and exited 0.
      expect(r.stats.instanceExitCodes).toEqual([0, 0, 0]);
      expect(lines.join('\n')).toContain('no-duplicate-assignment │ PASS');
      const summary = JSON.parse(readFileSync(join(r.runDir, 'summary.json'), 'utf8')) as { valid: boolean };
      expect(summary.valid).toBe(true);
      expect(readFileSync(join(r.runDir, 'history.jsonl'), 'utf8').split('\n').length).toBeGreaterThan(50);
      expect(readFileSync(join(r.runDir, 'logs', 'coordinator-1.log'), 'utf8')).toContain('coordinator started');

      // The run's report, opened in headless Chromium: no script error, and every chart drew data from the
      // environment's Prometheus. The screenshot stays in runs/ to be looked at.
      expect(lines.join('\n')).toContain(`report: ${join(r.runDir, 'report.html')}`);
      const check = await checkReportInBrowser(join(r.runDir, 'report.html'), {
        screenshotPath: join('runs', 'screenshots', 'chaos-report-pipeline.png'),
      });
      expect(check.consoleErrors).toEqual([]);
      expect(check.ready).toBe(true);
      expect(check.charts.length).toBe(5);
      for (const c of check.charts)
        expect(c, `chart ${c.id}`).toMatchObject({ drawn: true, empty: false, blank: false });
      // Its timeline: drawn, a lane per instance, no violation, and rate lines from the history with a point
      // for every 100 ms bin of the run's axis however long the seed took (a seed takes about five seconds,
      // give or take the machine's load: 49 bins on one CI run).
      expect(check.timeline).toMatchObject({ present: true, instances: 3, violationMarkers: 0, binMs: 100 });
      expect(check.timeline.axisMs).toBeGreaterThanOrEqual(1000);
      const bins = Math.ceil(check.timeline.axisMs / check.timeline.binMs);
      expect(check.timeline.rates.length).toBeGreaterThan(0);
      for (const rate of check.timeline.rates) expect(rate.points, rate.name).toBe(bins);
      expect(reportProblems(check)).toEqual([]);
      passed = true;
    } finally {
      // A failed run's folder (logs of every process, history, verdicts) is kept to be read.
      if (passed) rmSync(runsDir, { recursive: true, force: true });
      else process.stderr.write(`pipeline test: run folder kept: ${runsDir}\n`);
    }
  }, 120_000);
});
