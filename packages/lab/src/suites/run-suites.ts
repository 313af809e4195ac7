/**
 * `lab run --all` (and `lab run a b c`): every named suite to its end, each in
 * its own `lab run <suite>` process, `concurrency` at a time, then one table
 * of all of them. A failing suite never stops the others — its verdicts are
 * one row among the rest — and the exit status is 1 when any suite failed.
 *
 * Each suite's output is held and printed whole when it ends (so suites
 * running side by side do not interleave), with a progress line as each
 * starts and ends. SIGINT/SIGTERM/SIGHUP are passed on to every running suite,
 * which stops its own servers; this waits for them all before it exits. (A
 * `lab run --all` killed with SIGKILL cannot pass anything on: its suites
 * notice when a write to the closed pipe fails, and clean up then.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import Table from 'cli-table3';
import { InvalidArgumentError } from '../errors.js';

export interface SuiteOutcome {
  readonly suite: string;
  /** The suite's exit status (0: every seed valid), or the signal that ended it. */
  readonly exit: number | NodeJS.Signals;
  readonly wallMs: number;
  /** The suite's own summary line (`<suite>: N/M seeds valid …`), when it printed one. */
  readonly summary: string | undefined;
}

export interface RunSuitesOptions {
  /** The lab CLI to run each suite with. */
  readonly cli: string;
  /** Arguments passed to every `lab run <suite>` (seeds, variant). */
  readonly args: readonly string[];
  /** Suites at once. */
  readonly concurrency: number;
  readonly out?: (text: string) => void;
  readonly progress?: (line: string) => void;
}

/** `LAB_SUITE_CONCURRENCY` (default 4, as many as the chaos test project runs at once). */
export function suiteConcurrencyFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LAB_SUITE_CONCURRENCY ?? '4';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16)
    throw new InvalidArgumentError('LAB_SUITE_CONCURRENCY', raw, 'an integer from 1 to 16');
  return n;
}

/** The summary line a suite prints (`fuzz: 3/3 seeds valid in 90.1 s …`). */
export function summaryLine(output: string, suite: string): string | undefined {
  return output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(`${suite}: `) && / seeds? valid /.test(l));
}

export async function runSuites(suites: readonly string[], o: RunSuitesOptions): Promise<SuiteOutcome[]> {
  const out = o.out ?? ((t: string) => process.stdout.write(t));
  const progress = o.progress ?? ((l: string) => process.stderr.write(`${l}\n`));
  const running = new Set<ChildProcess>();
  const forward = (signal: NodeJS.Signals) => () => {
    progress(`lab: ${signal}: stopping ${running.size} running suite(s)`);
    for (const child of running) child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  const onHup = forward('SIGHUP');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  const outcomes: SuiteOutcome[] = new Array<SuiteOutcome>(suites.length);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < suites.length) {
      const i = next++;
      const suite = suites[i]!;
      progress(`lab: ${suite} started (${i + 1} of ${suites.length})`);
      const started = performance.now();
      const child = spawn(process.execPath, [o.cli, 'run', suite, ...o.args], { stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      const exit = await new Promise<number | NodeJS.Signals>((resolve) => {
        child.once('error', (err) => {
          text += `lab: could not start ${suite}: ${err.message}\n`;
          resolve(1);
        });
        child.once('close', (code, signal) => resolve(code ?? signal ?? 1));
      });
      running.delete(child);
      const wallMs = performance.now() - started;
      outcomes[i] = { suite, exit, wallMs, summary: summaryLine(text, suite) };
      done++;
      out(
        `\n── ${suite} (${exit === 0 ? 'passed' : `failed: exit ${exit}`}, ${(wallMs / 1000).toFixed(0)} s) ──\n${text}`,
      );
      progress(
        `lab: ${suite} ${exit === 0 ? 'passed' : 'FAILED'} in ${(wallMs / 1000).toFixed(0)} s; ${done} of ${suites.length} suites done, ${outcomes.filter((x) => x !== undefined && x.exit !== 0).length} failed, ${((performance.now() - t0) / 60_000).toFixed(1)} min so far`,
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, suites.length) }, worker));
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
  }
  return outcomes;
}

export function formatSuiteTable(outcomes: readonly SuiteOutcome[]): string {
  const table = new Table({ head: ['suite', 'result', 'time s', 'summary'], style: { head: [], border: [] } });
  for (const o of outcomes)
    table.push([
      o.suite,
      o.exit === 0 ? 'passed' : `FAILED (exit ${o.exit})`,
      (o.wallMs / 1000).toFixed(0),
      o.summary?.replace(`${o.suite}: `, '') ?? '',
    ]);
  const failed = outcomes.filter((o) => o.exit !== 0).length;
  return `${table.toString()}\n${outcomes.length - failed} of ${outcomes.length} suites passed${failed ? `, ${failed} failed` : ''}`;
}
