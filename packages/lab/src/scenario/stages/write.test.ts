import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  copyLogSlices,
  logSizes,
  reportFacts,
  resultLines,
  seedReportInput,
  waitLine,
  writeArtefacts,
  writeKafkaOffsets,
  writePlan,
  writeSeedReport,
  type SeedRecord,
} from './write.js';
import type { HistoryEntry } from '@chaos-lab/model';
import { renderReport } from '@chaos-lab/report';
import { readSeedFolder } from '../seed-folder.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'write-stage-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function record(seedDir: string, patch: Partial<SeedRecord> = {}): SeedRecord {
  return {
    runId: 'tiny-seed3-x',
    scenario: 'tiny',
    seed: 3,
    variant: undefined,
    replayCommand: 'lab run tiny --seed 3',
    seedDir,
    valid: true,
    stats: {
      seed: 3,
      environmentStartupMs: 0,
      instancesReadyMs: 12,
      workloadMs: 1500,
      wallMs: 2500,
      published: 10,
      contents: 4,
      observed: 9,
      contentsPerSecond: 3,
      timedOut: false,
      stalled: false,
      instanceExitCodes: [],
      online: [],
    },
    wait: { timedOut: false, stalled: false, broke: false },
    history: [],
    final: { postgres: { batches: [] } },
    verdicts: [{ checker: 'a', valid: true, errorCount: 0, errors: [], stats: {} }],
    brokerLost: [],
    online: [],
    settledContents: 4,
    instances: 3,
    faults: [],
    sessionLogs: '/logs',
    outputsOfOtherSeedsSkipped: 0,
    recorderEpoch: 0,
    workStartEpoch: 0,
    endedEpoch: 0,
    charts: [],
    ...patch,
  };
}

describe('write stage', () => {
  it('writes the plan, the history, the final read, the verdicts, the summary and the offsets', async () => {
    const dir = await tempDir();
    await writePlan(dir, { plan: { publishes: [], expected: {} } as never, faults: [] });
    await writeArtefacts(record(dir));
    await writeKafkaOffsets(dir, { unavailable: 'no' });
    expect((await readdir(dir)).sort()).toEqual([
      'charts.json',
      'final-state.json',
      'history.jsonl',
      'kafka-offsets.json',
      'plan.json',
      'summary.json',
      'verdicts.json',
    ]);
    expect(JSON.parse(await readFile(join(dir, 'plan.json'), 'utf8'))).toEqual({
      publishes: [],
      expected: {},
      faults: [],
    });
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({
      runId: 'tiny-seed3-x',
      scenario: 'tiny',
      variant: null,
      valid: true,
      replay: 'lab run tiny --seed 3',
    });
    expect(Object.keys(summary)).toEqual([
      'runId',
      'scenario',
      'variant',
      'valid',
      'stats',
      'sessionLogs',
      'outputsOfOtherSeedsSkipped',
      'brokerLostAcknowledgedPublishes',
      'replay',
      'report',
    ]);
    expect(summary.report).toEqual({
      instances: 3,
      settledContents: 4,
      wait: { timedOut: false, stalled: false, broke: false },
      recorderEpoch: 0,
      workStartEpoch: 0,
      endedEpoch: 0,
    });
  });

  it('renders the report from the folder alone, so a rebuild is the same page', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'logs'));
    await writeFile(join(dir, 'logs', 'coordinator-1.log'), '{}\n');
    const t0 = 1_800_000_000_000;
    const history: HistoryEntry[] = [
      {
        type: 'nemesis',
        time: 1000,
        phase: 'start',
        fault: 'kill',
        target: 'coordinator-1',
        detail: { label: 'kill -9 coordinator-1' },
      },
      {
        type: 'nemesis',
        time: 3000,
        phase: 'end',
        fault: 'kill',
        target: 'coordinator-1',
        detail: { label: 'kill -9 coordinator-1', tookEffect: true },
      },
    ];
    const charts = [
      {
        id: 'throughput',
        title: 'T',
        unit: 'ops/s',
        series: [{ name: 'c1', points: [[t0 + 1000, 2.5]] as [number, number][] }],
      },
    ];
    const faults = [{ at: 500, durationMs: 2000, spec: { kind: 'kill' as const, target: 'coordinator-1' } }];
    const r = record(dir, {
      history,
      charts,
      faults,
      recorderEpoch: t0 - 500,
      workStartEpoch: t0,
      endedEpoch: t0 + 9000,
    });
    await writePlan(dir, { plan: { publishes: [], expected: {} } as never, faults });
    await writeArtefacts(r);
    const { path, gaps } = await writeSeedReport(dir);
    expect(path).toBe(join(dir, 'report.html'));
    expect(gaps).toEqual([]);
    const page = await readFile(path, 'utf8');
    const saved = await readSeedFolder(dir);
    expect(page).toBe(renderReport(await seedReportInput(saved)));
    expect(await seedReportInput(saved)).toMatchObject({
      startedAt: t0,
      endedAt: t0 + 9000,
      faults: [{ label: 'kill -9 coordinator-1', start: t0 + 500, end: t0 + 2500, effect: 'took effect' }],
      charts,
      logs: [{ name: 'coordinator-1.log', href: 'logs/coordinator-1.log' }],
      replayCommand: 'lab run tiny --seed 3',
    });
    expect(reportFacts(saved)).toEqual(reportFacts(r));
    await writeSeedReport(dir);
    expect(await readFile(path, 'utf8')).toBe(page);
  });

  it('copies what each log gained since the marks, and new logs whole', async () => {
    const from = await tempDir();
    const to = await tempDir();
    await writeFile(join(from, 'a.log'), 'old\n');
    await writeFile(join(from, 'same.log'), 'x\n');
    await mkdir(join(from, 'sub'));
    const marks = await logSizes(from);
    expect([...marks.keys()].sort()).toEqual(['a.log', 'same.log']);
    await appendFile(join(from, 'a.log'), 'new\n');
    await writeFile(join(from, 'b.log'), 'whole\n');
    await copyLogSlices(from, marks, to);
    expect((await readdir(to)).sort()).toEqual(['a.log', 'b.log']);
    expect(await readFile(join(to, 'a.log'), 'utf8')).toBe('new\n');
    expect(await readFile(join(to, 'b.log'), 'utf8')).toBe('whole\n');
  });

  it('says why a seed gave up waiting', () => {
    const w = (timedOut: boolean, stalled: boolean, broke: boolean) =>
      waitLine({ timedOut, stalled, broke }, 30_000, 120_000);
    expect(w(false, false, false)).toBeUndefined();
    expect(w(true, false, true)).toBe('stopped waiting for the pipeline: the environment broke');
    expect(w(true, true, false)).toBe('pipeline stopped making progress: nothing settled for 30000 ms');
    expect(w(true, false, false)).toBe('pipeline did not finish within 120000 ms');
  });

  it('lists the report facts, the gave-up reason only when it gave up', () => {
    const dir = '/nowhere';
    expect(reportFacts(record(dir)).map((f) => f.label)).toEqual([
      'scenario',
      'seed',
      'instances',
      'faults',
      'publishes',
      'contents settled',
      'throughput',
      'workload',
    ]);
    const gaveUp = reportFacts(record(dir, { variant: 'v', wait: { timedOut: true, stalled: true, broke: false } }));
    expect(gaveUp.find((f) => f.label === 'gave up waiting')?.value).toBe('stalled');
    expect(gaveUp[2]).toEqual({ label: 'variant', value: 'v' });
  });

  it('prints the verdict and where the run folder is', async () => {
    const dir = await tempDir();
    const lines = await resultLines(record(dir), {
      waitLine: undefined,
      progressOfGroup: [],
      inputStart: new Map(),
      opened: false,
      reportPath: join(dir, 'report.html'),
    });
    expect(lines[1]).toBe('tiny (seed 3): VALID');
    expect(lines).toContain(`run folder: ${dir}`);
    expect(lines).toContain(`report: ${join(dir, 'report.html')}`);
    expect(lines.at(-1)).toBe('replay: lab run tiny --seed 3');
    expect(lines.some((l) => l.startsWith('wall 2.5 s · environment reused · group ready 12 ms'))).toBe(true);
    const invalid = await resultLines(record(dir, { valid: false }), {
      waitLine: 'pipeline did not finish within 120000 ms',
      progressOfGroup: { unavailable: 'gone' },
      inputStart: new Map(),
      opened: true,
      reportPath: undefined,
    });
    expect(invalid[1]).toBe('tiny (seed 3): INVALID');
    expect(invalid).toContain('pipeline did not finish within 120000 ms');
    expect(invalid).toContain('  unreadable: gone');
  });

  it('writes the report with the timeline at the top: instance lives, rates, and each violation placed in time', async () => {
    const dir = await tempDir();
    const epoch = Date.now() - 6000;
    const r = record(dir, {
      valid: false,
      recorderEpoch: epoch,
      workStartEpoch: epoch + 1000,
      endedEpoch: epoch + 6000,
      history: [
        { type: 'instance', time: 5, instance: 'coordinator-1', event: 'running', pid: 4 },
        { type: 'invoke', f: 'publish', process: 'p', index: 0, time: 1500, topic: 't', raw: 'x' },
        { type: 'instance', time: 2000, instance: 'coordinator-1', event: 'killed', pid: 4 },
      ],
      // Read 4 s into the history; the duplicate's rows settled 1.5 s before: at 2.5 s.
      final: { postgres: { batches: [] }, readAtMs: 4000 },
      verdicts: [
        {
          checker: 'no-duplicate-assignment',
          valid: false,
          errorCount: 1,
          errors: [{ message: 'content t-1 is in slots e-1 and e-2 in Postgres', effect_ago_ms: 1500 }],
          stats: {},
        },
        { checker: 'stores-agree', valid: false, errorCount: 1, errors: [{ message: 'disagree' }], stats: {} },
      ],
    });
    await writePlan(dir, { plan: { publishes: [], expected: {} } as never, faults: [] });
    await writeArtefacts(r);
    const { path } = await writeSeedReport(dir);
    const html = await readFile(path, 'utf8');
    expect(html.indexOf('<section id="timeline">')).toBeLessThan(html.indexOf('<section id="facts">'));
    expect(html).toContain('<g class="tl-instance" data-instance="coordinator-1" data-markers="1">');
    expect(html).toContain('data-kind="killed"');
    expect(html).toMatch(/<path class="tl-rate" data-series="published" data-group="inputs" data-points="\d\d+"/);
    expect(html).toContain(`data-checker="no-duplicate-assignment" data-at-end="false" data-time="${epoch + 2500}"`);
    expect(html).toContain('data-checker="stores-agree" data-at-end="true"');
    expect(html).toContain('when Postgres settled the rows it names (counted back from the final read)');
  });
});
