import { describe, expect, it } from 'vitest';
import { checkInputsConsumed, inputsConsumed } from './inputs-consumed.js';
import { correctRun } from './test-support.js';
import type { Consumption } from './types.js';

function withConsumption(c: Consumption | undefined) {
  const lab = correctRun();
  return { ...lab.input, final: { ...lab.input.final, ...(c && { consumption: c }) } };
}

describe('inputs-consumed', () => {
  it('accepts every partition committed to its end', () => {
    const v = inputsConsumed(
      withConsumption({
        boundMs: 5000,
        partitions: [
          { topic: 'in', partition: 0, committed: '12', end: '12' },
          { topic: 'in', partition: 1, committed: '-1', end: '0' },
        ],
      }),
    );
    expect(v).toMatchObject({ checker: 'inputs-consumed', valid: true, errorCount: 0 });
    expect(v.stats).toEqual({ partitions: 2, messagesBehind: 0, boundMs: 5000 });
  });

  it('names the stuck partition, offset, instance, last error, message and the batches behind it', () => {
    const v = checkInputsConsumed(
      withConsumption({
        boundMs: 5000,
        partitions: [
          { topic: 'in', partition: 0, committed: '12', end: '12' },
          {
            topic: 'in',
            partition: 2,
            committed: '7',
            end: '10',
            stuck: {
              value: '"\\u0000"',
              instance: 'coordinator-2',
              attempts: 25,
              lastError: 'processing failed; retrying the message: unsupported Unicode escape sequence',
              batches: ['b-3', 'b-4'],
            },
          },
        ],
      }),
    );
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'input in/2 stuck at offset 7 (end 10) 5000 ms after the heal: coordinator-2 failed it 25 time(s), last: processing failed; retrying the message: unsupported Unicode escape sequence; the message: "\\u0000"; waiting behind it: batch b-3, b-4',
    );
    expect(v.stats).toMatchObject({ messagesBehind: 3 });
  });

  it('names the message holding a partition whose own message no instance failed', () => {
    const v = checkInputsConsumed(
      withConsumption({
        boundMs: 3000,
        partitions: [
          {
            topic: 'in',
            partition: 1,
            committed: '3',
            end: '5',
            stuck: { instance: 'coordinator-2', attempts: 0, heldBy: 'in/0@2' },
          },
        ],
      }),
    );
    expect(v.firstError?.message).toBe(
      'input in/1 stuck at offset 3 (end 5) 3000 ms after the heal: its consumer coordinator-2 is held by in/0@2, which it keeps failing',
    );
  });

  it('counts a partition never committed as stuck at its start', () => {
    const v = checkInputsConsumed(
      withConsumption({ boundMs: 1000, partitions: [{ topic: 'in', partition: 0, committed: '-1', end: '4' }] }),
    );
    expect(v.valid).toBe(false);
    expect(v.firstError?.message).toContain('stuck at offset 0 (end 4) 1000 ms after the heal: no instance logged');
    expect(v.stats).toMatchObject({ messagesBehind: 4 });
  });

  it('is unknown when the group could not be read, and silent for runs recorded before it existed', () => {
    expect(checkInputsConsumed(withConsumption({ boundMs: 1, unavailable: 'timeout', partitions: [] })).valid).toBe(
      'unknown',
    );
    expect(checkInputsConsumed(withConsumption(undefined)).valid).toBe(true);
  });
});
