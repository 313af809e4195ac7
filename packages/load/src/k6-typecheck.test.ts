import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

// k6 cannot be installed here, so the script is at least type-checked against @types/k6 — together
// with the plan module it imports, under a lib without Node's types, which also proves the plan needs
// nothing k6 lacks.
test('k6/pipeline.ts type-checks with @types/k6', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = fileURLToPath(new URL('../k6/', import.meta.url));
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 60_000 });
  expect(run.error).toBeUndefined();
  expect(`${run.stdout}${run.stderr}`).toBe('');
  expect(run.status).toBe(0);
});
