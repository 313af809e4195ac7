import { describe, expect, it } from 'vitest';
import { checkEveryBatchFinished, everyBatchFinished } from './every-batch-finished.js';
import { correctRun, ev, input } from './test-support.js';

describe('every-batch-finished', () => {
  it('accepts a correct run, ignoring an indeterminate registration that left no trace', () => {
    const lab = correctRun();
    lab.register('b-5', ['e-50'], { outcome: 'info', delivered: false });
    const v = everyBatchFinished(lab.input);
    expect(v).toMatchObject({ checker: 'every-batch-finished', valid: true, errorCount: 0 });
    expect(v.stats).toEqual({
      batchesToFinish: 2,
      finished: 2,
      unfinished: 0,
      notClosable: 0,
      infoRegistrationsIgnored: 1,
    });
  });

  it('finds a batch that hung open although every one of its contents was delivered', () => {
    const lab = correctRun();
    lab.register('b-3', ['e-7', 'e-8']);
    lab.content('b-3', 't-7');
    lab.publish(input.content('b-3', 't-8', 't-8.txt')); // acknowledged, never handled
    const v = checkEveryBatchFinished(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'batch b-3 never finished: no batch.ready or batch.timed_out event was observed and its Postgres status is open (1 of 2 slots free)',
    );
    expect(v.stats).toMatchObject({ unfinished: 1 });
  });

  it('expects a batch short of an input to close by its deadline only once the deadline has passed in the run', () => {
    const lab = correctRun();
    const reg = (b: string) => ({
      ...input.registered(b, ['e-1', 'e-2']),
      data: { batch_id: b, essay_ids: ['e-1', 'e-2'], deadline: '2026-01-01T00:10:00.000Z' },
    });
    // Far: ten minutes after its publish, past the end of the run; an input of it was never delivered.
    lab.publish(reg('b-far'), { meta: { deadlineInMs: 600_000 } });
    // Near: 1 ms after its publish, long past by the end of the history.
    lab.publish(reg('b-near'), { meta: { deadlineInMs: 1 } });
    // The run goes on for 5 s of history time after them (an orphan content is its last entry).
    const clock = lab as unknown as { tick(): number };
    for (let i = 0; i < 5000; i++) clock.tick();
    lab.publish(input.content('b-orphan', 't-o', 'o.txt'));
    for (const b of ['b-far', 'b-near'])
      lab.final.postgres.batches.push({ batch_id: b, expected_count: 2, status: 'open' });
    const v = checkEveryBatchFinished(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch b-near never finished: no batch.ready or batch.timed_out event was observed and its Postgres status is open (0 of 2 slots free)',
    ]);
  });

  it('finds a batch announced ready whose Postgres status stayed open', () => {
    const lab = correctRun();
    lab.batch('b-2').status = 'open';
    const v = checkEveryBatchFinished(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe('batch b-2 never finished: its Postgres status is open (1 of 2 slots free)');
  });

  it('finds a registration (ok) that never reached Postgres', () => {
    const lab = correctRun();
    lab.publish(input.registered('b-3', ['e-7']));
    lab.publish(input.content('b-3', 't-7', 't-7.txt'));
    const v = checkEveryBatchFinished(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'batch b-3 never finished: no batch.ready or batch.timed_out event was observed and it is not in Postgres',
    );
  });

  it('does not ask a batch to finish when too few of its inputs were definitely delivered and it has no deadline', () => {
    const lab = correctRun();
    lab.register('b-3', ['e-7', 'e-8']);
    lab.content('b-3', 't-7');
    lab.content('b-3', 't-8', { outcome: 'info', delivered: false }); // e.g. acknowledged, then lost by the broker
    const v = checkEveryBatchFinished(lab.input);
    expect(v.valid).toBe(true);
    expect(v.stats).toMatchObject({ notClosable: 1, unfinished: 0 });
  });

  it('holds an indeterminate registration that was processed to the same rule', () => {
    const lab = correctRun();
    lab.register('b-6', ['e-60'], { outcome: 'info' });
    lab.publish(input.content('b-6', 't-60', 't-60.txt'));
    lab.observe(ev.slotAssigned('b-6', 'e-60', 't-60'));
    const v = checkEveryBatchFinished(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError).toMatchObject({ batch_id: 'b-6', registration: 'info' });
  });
});
