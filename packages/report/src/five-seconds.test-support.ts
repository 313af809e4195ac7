/** Test data shared by the timeline's markup test and its browser test. */
import type { ReportInput } from './model.js';

/** A five-second chaos run: one kill, three instances, 100 ms bins, a duplicate found at 3.2 s. */
export function fiveSeconds(): ReportInput {
  const t0 = Date.UTC(2025, 5, 1, 12, 0, 0);
  const bins = 50;
  return {
    kind: 'chaos',
    title: 'instance-crash — seed 1',
    runId: 'r/seed-1',
    startedAt: t0,
    endedAt: t0 + 5000,
    outcome: 'invalid',
    facts: [],
    faults: [
      { label: 'kill -9 coordinator-2', kind: 'kill', target: 'coordinator-2', start: t0 + 1000, end: t0 + 2500 },
    ],
    timeline: {
      binMs: 100,
      rates: [
        { name: 'published', group: 'inputs', counts: Array.from({ length: bins }, (_, i) => (i % 2 ? 4 : 5)) },
        { name: 'acknowledged', group: 'inputs', counts: Array.from({ length: bins }, () => 4) },
        { name: 'slot assigned', group: 'outputs', counts: Array.from({ length: bins + 3 }, (_, i) => i % 5) },
      ],
      instances: [
        { id: 'coordinator-1', events: [{ time: t0 - 900, kind: 'running', note: 'pid 10' }] },
        {
          id: 'coordinator-2',
          events: [
            { time: t0 - 900, kind: 'running', note: 'pid 11' },
            { time: t0 + 1001, kind: 'killed', note: 'pid 11' },
            { time: t0 + 1010, kind: 'exited', note: 'pid 11, signal SIGKILL' },
            { time: t0 + 2400, kind: 'started', note: 'pid 12' },
            { time: t0 + 4100, kind: 'ready', note: 'pid 12' },
            { time: t0 + 4200, kind: 'joined', note: 'pid 12, 3 partitions' },
            { time: t0 + 9000, kind: 'exited', note: 'after the run' },
          ],
        },
        {
          id: '<b>coordinator-3</b>',
          events: [
            { time: t0 - 5000, kind: 'started' },
            { time: t0 + 700, kind: 'paused' },
          ],
        },
      ],
      note: 'from the history',
    },
    charts: [],
    verdicts: [
      { checker: 'one-ready-per-batch', valid: true, summary: 'ok', counterexamples: [] },
      {
        checker: 'no-duplicate-assignment',
        valid: false,
        summary: '2 error(s)',
        counterexamples: [{ message: 'content t-1 of batch b-1 is in slots e-1 and e-3 (slot-assigned events)' }],
        violatedAt: { time: t0 + 3200, how: 'counterexample 1 of 2: the history entry it names' },
      },
      { checker: 'stores-agree', valid: false, summary: '1 error(s)', counterexamples: [{ message: 'batch b-2: …' }] },
      { checker: 'inputs-consumed', valid: 'unknown', summary: '?', counterexamples: [] },
    ],
    logs: [],
  };
}
