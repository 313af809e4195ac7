/**
 * Renders verdicts as a plain-text table for terminals and reports. Colors
 * are disabled (empty head/border styles) so the output is the same on a TTY,
 * in CI logs and in files.
 */
import Table from 'cli-table3';
import type { Verdict } from './types.js';

export const COUNTEREXAMPLE_WIDTH = 100;

function verdictLabel(v: Verdict): string {
  return v.valid === true ? 'PASS' : v.valid === false ? 'FAIL' : 'UNKNOWN';
}

/** Collapses whitespace (a message may contain a stack or newlines) and truncates with an ellipsis. */
export function truncate(text: string, width = COUNTEREXAMPLE_WIDTH): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

export function formatVerdictTable(verdicts: readonly Verdict[]): string {
  const table = new Table({
    head: ['checker', 'verdict', 'errors', 'first counterexample'],
    style: { head: [], border: [] },
  });
  for (const v of verdicts) {
    table.push([v.checker, verdictLabel(v), String(v.errorCount), v.firstError ? truncate(v.firstError.message) : '']);
  }
  return table.toString();
}
