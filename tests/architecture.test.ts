/**
 * The architecture of ARCHITECTURE.md, checked by dependency-cruiser with the
 * rules in `.dependency-cruiser.cjs`: no import cycle anywhere in the
 * workspace, the model free of I/O and servers, each package importing only
 * the layers below it, the coordinator never the lab. A deliberate cycle
 * (tests/fixtures/cycle) shows the check can fail.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
  readonly cycle?: readonly { readonly name: string }[];
}

function cruise(paths: string[], extra: string[] = []): Promise<{ violations: Violation[]; modules: number }> {
  const args = [cli, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...extra, ...paths];
  return new Promise((resolve, reject) => {
    // Exit status is the number of errors; the JSON on stdout says which.
    execFile(process.execPath, args, { cwd: root, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      try {
        const out = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
        resolve({ violations: out.summary.violations, modules: out.summary.totalCruised });
      } catch {
        reject(new Error(`dependency-cruiser gave no result: ${err?.message ?? ''}\n${stderr}`));
      }
    });
  });
}

const show = (v: Violation) => `${v.rule.name}: ${v.from} → ${v.cycle ? v.cycle.map((c) => c.name).join(' → ') : v.to}`;

describe('the architecture', () => {
  it('has no import cycle and no import across the layers', { timeout: 180_000 }, async () => {
    const { violations, modules } = await cruise(['apps', 'packages', 'scenarios', 'dashboards']);
    expect(modules).toBeGreaterThan(300);
    expect(violations.map(show)).toEqual([]);
  });

  it('refuses a cycle (the check can fail)', { timeout: 60_000 }, async () => {
    const { violations } = await cruise(['tests/fixtures/cycle'], ['--exclude', '(dist|node_modules)/']);
    expect(violations.map(show)).toEqual([
      'no-circular: tests/fixtures/cycle/a.ts → tests/fixtures/cycle/b.ts → tests/fixtures/cycle/a.ts',
    ]);
  });
});
