/**
 * `lab reap [--dry-run]`: stops the servers and removes the work dirs a killed lab process left behind —
 * every chaos-lab-* folder whose owner is gone, or that has no owner and nothing uses — each with its size
 * and why; `--dry-run` only lists them. Exit 1 when a folder could not be reaped.
 */
import { formatReapReport, reapWorkDirs } from '../environment/local/work-dir.js';
import { parseOptions } from './args.js';

export async function reapCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions('lab reap', { args: argv, options: { 'dry-run': { type: 'boolean' } } });
  const report = await reapWorkDirs({ dryRun: values['dry-run'] === true });
  process.stdout.write(formatReapReport(report) + '\n');
  return report.kept.some((k) => k.reason.startsWith('could not be reaped')) ? 1 : 0;
}
