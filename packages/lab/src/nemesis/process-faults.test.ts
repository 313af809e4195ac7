import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  commitBoundaryCrash,
  commitCrashJudgement,
  killTookEffect,
  pauseTookEffect,
  restart,
  restartTookEffect,
  rollingRestartTookEffect,
  rollingUpgradeTookEffect,
  stateWithin,
} from './process-faults.js';
import type { NemesisContext } from './types.js';
import { CoordinatorInstance } from '../instances/instances.js';
import { freePort } from '../process/ports.js';
import { COUNTDOWN_EVERY_MS } from '../progress.js';

describe('stateWithin', () => {
  it('sees a stopped process as "T", and gives the last state read when the wanted one does not come', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    try {
      child.kill('SIGSTOP');
      expect(await stateWithin(child.pid, 'T', 2000)).toBe('T');
      child.kill('SIGCONT');
      const t0 = Date.now();
      const state = await stateWithin(child.pid, 'T', 150);
      expect(state).toMatch(/^[RS]$/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await stateWithin(999_999_999, 'T', 50)).toBeUndefined();
  });
});

describe('how the process faults judge their evidence', () => {
  it('kill: the instance died of SIGKILL, not of anything else', () => {
    expect(killTookEffect({ signal: 'SIGKILL' })).toBe(true);
    expect(killTookEffect({ signal: 'SIGTERM' })).toBe(false);
    // Exited on its own (code, no signal): not the kill.
    expect(killTookEffect({ signal: null })).toBe(false);
  });

  it('pause: the process was seen stopped; running, sleeping or gone is no effect', () => {
    expect(pauseTookEffect('T')).toBe(true);
    for (const state of ['R', 'S', 'D', 't', undefined]) expect(pauseTookEffect(state), String(state)).toBe(false);
  });

  it('restart: a clean exit and a new process', () => {
    expect(restartTookEffect(0, 100, 200)).toBe(true);
    // The stop ended in SIGKILL (no code), or failed.
    expect(restartTookEffect(null, 100, 200)).toBe(false);
    expect(restartTookEffect(1, 100, 200)).toBe(false);
    // Same process: it never went down.
    expect(restartTookEffect(0, 100, 100)).toBe(false);
    expect(restartTookEffect(0, undefined, 200)).toBe(true);
  });

  it('rolling restart: every instance in a new process, not most of them', () => {
    expect(rollingRestartTookEffect([1, 2, 3], [4, 5, 6])).toBe(true);
    expect(rollingRestartTookEffect([1, 2, 3], [4, 2, 6])).toBe(false);
    expect(rollingRestartTookEffect([1, 2, 3], [4, 5, undefined])).toBe(true);
    expect(rollingRestartTookEffect([], [])).toBe(true);
  });

  it('rolling upgrade: every instance moved, in a new process, from another build onto the new one', () => {
    const before = [
      { pid: 1, entry: 'old.js' },
      { pid: 2, entry: 'old.js' },
    ];
    expect(
      rollingUpgradeTookEffect(
        before,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 4, entry: 'new.js' },
        ],
        'new.js',
      ),
    ).toBe(true);
    // One still on the old build, one in its old process, or instances already on the new build before.
    expect(
      rollingUpgradeTookEffect(
        before,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 4, entry: 'old.js' },
        ],
        'new.js',
      ),
    ).toBe(false);
    expect(
      rollingUpgradeTookEffect(
        before,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 2, entry: 'new.js' },
        ],
        'new.js',
      ),
    ).toBe(false);
    const already = before.map((b) => ({ ...b, entry: 'new.js' }));
    expect(
      rollingUpgradeTookEffect(
        already,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 4, entry: 'new.js' },
        ],
        'new.js',
      ),
    ).toBe(false);
  });

  it('commit-boundary crash: a SIGKILL exit is the fail-point; too few inputs to reach it is no opportunity', () => {
    expect(commitCrashJudgement({ signal: 'SIGKILL' }, undefined, 2)).toEqual({
      tookEffect: true,
      noOpportunity: false,
    });
    // Crashed otherwise: no effect, and nothing said of the opportunity.
    expect(commitCrashJudgement({ signal: 'SIGSEGV' }, undefined, 2)).toEqual({
      tookEffect: false,
      noOpportunity: false,
    });
    // Did not crash: consumed fewer than nth → no opportunity; nth or more → it had one and did nothing.
    expect(commitCrashJudgement(undefined, 1, 2)).toEqual({ tookEffect: false, noOpportunity: true });
    expect(commitCrashJudgement(undefined, 2, 2)).toEqual({ tookEffect: false, noOpportunity: false });
    expect(commitCrashJudgement(undefined, 0, 1)).toEqual({ tookEffect: false, noOpportunity: true });
    // Not running to say what it consumed.
    expect(commitCrashJudgement(undefined, undefined, 2)).toEqual({ tookEffect: false, noOpportunity: false });
  });
});

/**
 * A stand-in for the coordinator, run as a real process through the lab's own {@link CoordinatorInstance}: it
 * answers /readyz (503 for its first `STUB_READY_AFTER_MS` once a file `slow` lies beside it) and /metrics, exits
 * cleanly on SIGTERM, and, started with a fail-point, SIGKILLs itself `STUB_CRASH_AFTER_MS` later. The real coordinator reaches its fail-point only
 * with traffic, in a time no test controls; these waits must last past a countdown period to show a line.
 */
const STUB_SERVICE = `
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
const t0 = Date.now();
const readyAfter = existsSync(new URL('./slow', import.meta.url)) ? Number(process.env.STUB_READY_AFTER_MS) : 0;
const server = createServer((req, res) => {
  if (req.url === '/metrics') return res.end('coordinator_events_consumed_total 0\\n');
  res.statusCode = req.url === '/readyz' && Date.now() - t0 >= readyAfter ? 200 : 503;
  res.end();
}).listen(Number(process.env.COORDINATOR_HTTP_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
if (process.env.COORDINATOR_FAILPOINTS)
  setTimeout(() => {
    console.log('fail-point reached');
    process.kill(process.pid, 'SIGKILL');
  }, Number(process.env.STUB_CRASH_AFTER_MS));
`;

/** Runs `test` with one started stand-in instance, its context's progress lines gathered; stops and removes it after. */
async function withStubInstance(
  env: Record<string, string>,
  test: (x: CoordinatorInstance, ctx: NemesisContext, lines: string[], dir: string) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-process-faults-'));
  const entry = join(dir, 'stub-service.mjs');
  await writeFile(entry, STUB_SERVICE);
  const x = new CoordinatorInstance(0, 'coordinator-1', await freePort(), { entry, env, logDir: dir });
  try {
    await x.startReady();
    const lines: string[] = [];
    const ctx = { instances: { all: [x] }, progress: (l: string) => lines.push(l) } as unknown as NemesisContext;
    await test(x, ctx, lines, dir);
  } finally {
    await x.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('process faults count their long waits down on the run’s progress sink', () => {
  it('commit-boundary-crash: a line while it waits for the crash after its window, none once the crash came', async () => {
    // The crash comes two countdown periods after the instance's start: the wait for it begins once that
    // instance is ready, and even on a loaded machine a whole period is left to say one line in.
    const crashAfterMs = 2 * COUNTDOWN_EVERY_MS;
    await withStubInstance({ STUB_CRASH_AFTER_MS: String(crashAfterMs) }, async (x, ctx, lines) => {
      const spec = {
        kind: 'commit-boundary-crash',
        target: x.id,
        nth: 2,
        at: 'after-commit-before-offset',
      } as const;
      const active = await commitBoundaryCrash.start(spec, ctx);
      const evidence = await active.end();
      expect(evidence).toMatchObject({ tookEffect: true, detail: { exit: { signal: 'SIGKILL' } } });
      expect(x.running).toBe(true);
      const waits = lines.filter((l) => l.includes('waiting for its crash'));
      expect(waits.length, lines.join('\n')).toBeGreaterThanOrEqual(1);
      for (const l of waits)
        expect(l).toMatch(
          /^lab: nemesis: commit-boundary-crash coordinator-1: waiting for its crash at after-commit-before-offset \(nth 2\), [12]?\d s left of the 30 s grace$/,
        );
      // The wait is over: no further line comes, not even one period later.
      const said = lines.length;
      await new Promise((r) => setTimeout(r, COUNTDOWN_EVERY_MS + 500));
      expect(lines).toHaveLength(said);
    });
  }, 60_000);

  it('restart: a line while the restarted instance is not ready yet', async () => {
    await withStubInstance({ STUB_READY_AFTER_MS: String(2 * COUNTDOWN_EVERY_MS) }, async (x, ctx, lines, dir) => {
      // Ready two countdown periods after its start, from the next life on: a whole period of margin for one line.
      await writeFile(join(dir, 'slow'), '');
      const active = await restart.start({ kind: 'restart', target: x.id }, ctx);
      expect((await active.end()).tookEffect).toBe(true);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const l of lines)
        expect(l).toMatch(
          /^lab: nemesis: restart coordinator-1: waiting for coordinator-1 to be ready: \d+ s left of 30 s$/,
        );
    });
  }, 60_000);
});
