/**
 * faults-took-effect: every fault the nemesis started must have shown an
 * effect (its implementation's evidence: a probe that saw the latency or the
 * refusal, errors in the instances' metrics, a process really gone or
 * stopped, a store really empty). A fault that silently did nothing would
 * make a passing run meaningless, so it fails the run — unless its evidence
 * says it never had the opportunity (`noOpportunity`: its trigger never
 * came), which is counted apart. Runs without faults pass with zero faults
 * counted.
 */
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const FAULTS_TOOK_EFFECT = 'faults-took-effect';

export function checkFaultsTookEffect({ history }: CheckerInput): Verdict {
  const v = new VerdictBuilder(FAULTS_TOOK_EFFECT);
  let started = 0;
  let ended = 0;
  let effective = 0;
  let noOpportunity = 0;
  for (const e of history) {
    if (e.type !== 'nemesis') continue;
    if (e.phase === 'start') {
      started++;
      continue;
    }
    ended++;
    const d = e.detail ?? {};
    if (d.tookEffect === true) effective++;
    // A fault whose trigger never came (a commit-boundary crash armed on an instance that then consumed less than
    // its count) did not fail to act: it had nothing to act on. Counted, not hidden, and not a failed run.
    else if (d.noOpportunity === true) noOpportunity++;
    else {
      const why = typeof d.error === 'string' ? d.error : `evidence: ${JSON.stringify(d).slice(0, 200)}`;
      v.error(`fault "${String(d.label ?? e.fault)}" showed no effect (${why})`, {
        fault: e.fault,
        target: e.target,
        time: e.time,
      });
    }
  }
  if (started !== ended) v.error(`${started} faults started but ${ended} ended`, { started, ended });
  v.stat('faults', started);
  v.stat('effective', effective);
  v.stat('noOpportunity', noOpportunity);
  return v.build();
}

export const faultsTookEffect = defineChecker(FAULTS_TOOK_EFFECT, checkFaultsTookEffect, {
  description: 'every fault the nemesis started showed evidence that it took effect',
});
