/**
 * The variant matrix: does the lab catch known bugs? Every known-bad variant
 * of the coordinator runs against every scenario (seed after seed until a
 * violation is found, up to the seeds given), and the table says, per
 * variant × scenario, whether it was caught, by which checker, with which
 * seed, how long the suite took from its start to that verdict, how long
 * after the catching seed's last fault ended (the heal) it was judged, and —
 * when the online checkers saw it while the seed ran — how long after the
 * violation came to be they said so.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Table from 'cli-table3';
import { readHistory } from '@chaos-lab/model';
import { ENVIRONMENT_HELD, runSuite, type RunResult, type ScenarioDefinition } from './scenario.js';
import { coordinatorEntry } from './main.js';

export interface VariantCell {
  readonly variant: string;
  readonly scenario: string;
  readonly caught: boolean;
  readonly seed?: number;
  /** Checkers that failed in the catching run. */
  readonly checkers?: string[];
  /** Start of the suite (its first seed) to the catching seed's verdict. */
  readonly detectionMs?: number;
  /**
   * In the catching seed: from the end of its last fault (the heal; its first publish when it had no fault) to
   * the end of its history, when it was judged — how long the lab waited before its verdict once the faults
   * were over. The checkers judge the whole history at that moment.
   */
  readonly afterHealMs?: number;
  /** The catching seed's first online finding: when the violation came to be, and when it was seen (history ms). */
  readonly online?: { readonly checker: string; readonly effectMs: number; readonly detectedMs: number };
  readonly runId?: string;
}

export async function runVariantMatrix(opts: {
  scenarios: readonly ScenarioDefinition[];
  variants: readonly string[];
  seeds: readonly number[];
  /** Cells run at once, each on its own session. Default 1. */
  concurrency?: number;
  progress?: (line: string) => void;
}): Promise<VariantCell[]> {
  const progress = opts.progress ?? ((l: string) => process.stderr.write(l + '\n'));
  const entry = coordinatorEntry(opts.variants[0]);
  // A catch is a violated invariant of the system (or a stalled pipeline); a fault that showed no
  // effect says something about the run, not about the variant, so it alone is no catch.
  const failedCheckers = (r: RunResult) =>
    r.verdicts
      .filter((v) => v.valid !== true && v.checker !== 'faults-took-effect' && v.checker !== ENVIRONMENT_HELD)
      .map((v) => v.checker);
  const brokeEnvironment = (r: RunResult) => r.verdicts.some((v) => v.checker === ENVIRONMENT_HELD);
  const caught = (r: RunResult) => !brokeEnvironment(r) && (failedCheckers(r).length > 0 || r.stats.stalled);
  const todo = opts.variants.flatMap((variant) => opts.scenarios.map((def) => ({ variant, def })));
  const cells: VariantCell[] = new Array<VariantCell>(todo.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < todo.length; i = next++) {
      const { variant, def } = todo[i]!;
      let cell: VariantCell = { variant, scenario: def.name, caught: false };
      const suite = await runSuite(def, {
        seeds: opts.seeds,
        variant,
        coordinatorEntry: entry,
        out: () => {},
        progress: () => {},
        replayCommand: (seed) => `npm run lab -- run ${def.name} --seed ${seed} --variant ${variant}`,
        stopWhen: caught,
      }).catch((err: unknown) => {
        progress(
          `lab: variant ${variant} × ${def.name}: could not run: ${err instanceof Error ? err.message : String(err)}`,
        );
        return undefined;
      });
      const r = suite?.results.find(caught);
      if (r) {
        cell = {
          variant,
          scenario: def.name,
          caught: true,
          seed: r.stats.seed,
          checkers: r.stats.stalled ? ['stalled', ...failedCheckers(r)] : failedCheckers(r),
          // From the start of the suite to the catching verdict: the seeds before it count too.
          detectionMs: suite!.results.slice(0, suite!.results.indexOf(r) + 1).reduce((ms, x) => ms + x.stats.wallMs, 0),
          runId: r.runId,
          ...(await afterHeal(r.runDir)),
          ...firstOnline(r),
        };
      }
      const seen =
        cell.online === undefined
          ? ''
          : `, seen online by ${cell.online.checker} ${((cell.online.detectedMs - cell.online.effectMs) / 1000).toFixed(1)} s after it happened`;
      progress(
        `lab: variant ${variant} × ${def.name}: ${cell.caught ? `caught (seed ${cell.seed}, ${cell.checkers?.join(', ')}, ${((cell.detectionMs ?? 0) / 1000).toFixed(1)} s${cell.afterHealMs === undefined ? '' : `, judged ${(cell.afterHealMs / 1000).toFixed(1)} s after the heal`}${seen})` : 'missed'}`,
      );
      cells[i] = cell;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, lane));
  return cells;
}

/** {@link VariantCell.online}: the finding seen first. */
function firstOnline(r: RunResult): Pick<VariantCell, 'online'> {
  const [f] = [...(r.stats.online ?? [])].sort((a, b) => a.detectedMs - b.detectedMs);
  return f === undefined ? {} : { online: { checker: f.checker, effectMs: f.effectMs, detectedMs: f.detectedMs } };
}

/** {@link VariantCell.afterHealMs} from a run folder's history; nothing when it cannot be read. */
async function afterHeal(runDir: string): Promise<{ afterHealMs?: number }> {
  try {
    const history = readHistory(await readFile(join(runDir, 'history.jsonl'), 'utf8'));
    const end = history.reduce((t, e) => Math.max(t, e.time), 0);
    const heals = history.filter((e) => e.type === 'nemesis' && e.phase === 'end').map((e) => e.time);
    const start = heals.length > 0 ? Math.max(...heals) : history.find((e) => e.type === 'invoke')?.time;
    return start === undefined ? {} : { afterHealMs: Math.max(0, end - start) };
  } catch {
    return {};
  }
}

export function formatVariantTable(cells: readonly VariantCell[]): string {
  const scenarios = [...new Set(cells.map((c) => c.scenario))];
  const variants = [...new Set(cells.map((c) => c.variant))];
  const table = new Table({ head: ['variant', ...scenarios, 'caught by'], style: { head: [], border: [] } });
  for (const v of variants) {
    const row = scenarios.map((s) => {
      const c = cells.find((x) => x.variant === v && x.scenario === s);
      if (!c) return '';
      if (!c.caught) return 'missed';
      const when =
        c.online !== undefined
          ? ` (seen ${((c.online.detectedMs - c.online.effectMs) / 1000).toFixed(1)}s after effect)`
          : c.afterHealMs === undefined
            ? ''
            : ` (heal+${(c.afterHealMs / 1000).toFixed(0)}s)`;
      return `caught ${((c.detectionMs ?? 0) / 1000).toFixed(0)}s${when}\n${c.online?.checker ?? c.checkers?.[0] ?? ''}`;
    });
    const n = cells.filter((x) => x.variant === v && x.caught).length;
    table.push([v, ...row, `${n}/${scenarios.length}`]);
  }
  return table.toString();
}
