import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';
import { describeChaosSuite } from '@chaos-lab/lab/testing';
import { scenario } from './index.js';

/** Whether the baseline commit is in this clone (a shallow clone may lack it): said, never a red test. */
function baselineMissing(): string | undefined {
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${scenario.baselineRef}^{commit}`], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `the baseline commit ${scenario.baselineRef} is not in this clone (shallow?); fetch it or set LAB_BASELINE_REF`;
  }
}

const missing = baselineMissing();
if (missing === undefined) describeChaosSuite(scenario);
else describe(`chaos: ${scenario.name}`, () => it.skip(`skipped: ${missing}`, () => {}));
