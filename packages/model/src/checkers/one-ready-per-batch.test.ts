import { eventIds } from '@chaos-lab/contracts';
import { describe, expect, it } from 'vitest';
import { checkOneReadyPerBatch, oneReadyPerBatch } from './one-ready-per-batch.js';
import { LabSim, correctRun, ev } from './test-support.js';

const OTHER_ID = '0b9f4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';

describe('one-ready-per-batch', () => {
  it('accepts a correct run', () => {
    const v = oneReadyPerBatch(correctRun().input);
    expect(v).toMatchObject({ checker: 'one-ready-per-batch', valid: true, errorCount: 0 });
    expect(v.stats).toMatchObject({ batches: 2, readyBatches: 1, timedOutBatches: 1 });
  });

  it('accepts a redelivered identical ready event (same id, same data), even with the arrays reordered', () => {
    const lab = new LabSim();
    lab.register('b-1', ['e-1', 'e-2']);
    lab.content('b-1', 't-1');
    lab.content('b-1', 't-2');
    const ready = lab.ready('b-1', 2);
    lab.observe({
      ...ready,
      occurred_at: '2025-01-01T00:00:09Z',
      data: { ...ready.data, essays: [...ready.data.essays].reverse() },
    });
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.valid).toBe(true);
    expect(v.stats).toMatchObject({ readyDeliveries: 3, closingRedeliveries: 2 });
  });

  it('rejects two distinct ready event ids for one batch', () => {
    const lab = correctRun();
    const d = lab.closingData('b-1');
    lab.observe(ev.ready('b-1', d.essays, d.validation_failures, OTHER_ID));
    const second = lab.lastTime;
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.time).toBe(second);
    const ids = [eventIds.batchReady('b-1'), OTHER_ID].sort();
    expect(v.firstError?.message).toBe(`batch b-1 has 2 distinct batch.ready events (${ids[0]} and ${ids[1]})`);
  });

  it('rejects a batch that is both ready and timed out', () => {
    const lab = correctRun();
    const d = lab.closingData('b-1');
    lab.observe(ev.timedOut('b-1', d.essays, d.validation_failures, []));
    const timedOutAt = lab.lastTime;
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(2);
    expect(v.errors.map((e) => e.time)).toEqual([timedOutAt, timedOutAt]);
    expect(v.firstError?.message).toBe(
      `batch b-1 is both ready (${eventIds.batchReady('b-1')}) and timed out (${eventIds.batchTimedOut('b-1')})`,
    );
    expect(v.errors[1]?.message).toBe('batch.timed_out was observed for batch b-1 but its Postgres status is ready');
  });

  it('rejects a ready event whose essays differ from the Postgres slots', () => {
    const lab = correctRun();
    lab.slot('b-1', 'e-2').text_storage_id = 't-8';
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'batch.ready of batch b-1 does not match Postgres: essay e-2 is content t-2 (t-2.txt) in the event but content t-8 (t-2.txt) in Postgres',
    );
  });

  it('rejects a ready event that omits a validation failure', () => {
    const lab = new LabSim();
    lab.register('b-1', ['e-1', 'e-2']);
    lab.content('b-1', 't-1');
    lab.failure('b-1', 'f.txt');
    lab.observe(ev.ready('b-1', [{ essay_id: 'e-1', text_storage_id: 't-1', original_file_name: 't-1.txt' }], []));
    lab.batch('b-1').status = 'ready';
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'batch.ready of batch b-1 does not match Postgres: essay e-2 is free in the event but failure f.txt in Postgres',
    );
  });

  it('rejects one ready id carrying two different payloads', () => {
    const lab = correctRun();
    lab.observe(ev.ready('b-1', [], []));
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.errorCount).toBe(2);
    expect(v.firstError?.message).toBe(
      `batch.ready event ${eventIds.batchReady('b-1')} of batch b-1 was delivered with 2 different payloads`,
    );
    expect(v.errors[1]?.message).toBe(
      'batch.ready of batch b-1 does not match Postgres: essay e-1 is free in the event but content t-1 (t-1.txt) in Postgres (2 more differences)',
    );
  });

  it('rejects a Postgres status that disagrees with the events', () => {
    const silent = correctRun();
    silent.history.splice(
      silent.history.findIndex((e) => e.type === 'observe' && e.event?.event_type === 'batch.ready.v1'),
      1,
    );
    let v = checkOneReadyPerBatch(silent.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe('batch b-1 is ready in Postgres but no batch.ready event was observed');

    const stale = correctRun();
    stale.batch('b-1').status = 'open';
    v = checkOneReadyPerBatch(stale.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch.ready was observed for batch b-1 but its Postgres status is open',
      'batch b-1 is open in Postgres with none of its 3 slots free: the transaction that settled its last slot did not close it',
    ]);
  });

  it('online: the closing events once-only and the states no commit leaves, never the events against Postgres', () => {
    // The events against a snapshot of another moment: nothing online.
    const silent = correctRun();
    silent.history.splice(
      silent.history.findIndex((e) => e.type === 'observe' && e.event?.event_type === 'batch.ready.v1'),
      1,
    );
    expect(checkOneReadyPerBatch({ ...silent.input, online: true })).toMatchObject({ valid: true });

    // A second distinct ready event of one batch: online, from the history alone.
    const twice = correctRun();
    const d = twice.closingData('b-1');
    twice.observe({ ...ev.ready('b-1', d.essays, d.validation_failures), event_id: 'another-id' });
    const online = checkOneReadyPerBatch({ ...twice.input, online: true });
    expect(online.firstError?.message).toMatch(/^batch b-1 has 2 distinct batch\.ready events/);

    // Open with every slot settled: online too, with how long ago its last slot was settled.
    const stuck = correctRun();
    stuck.batch('b-1').status = 'open';
    stuck.history.splice(
      stuck.history.findIndex((e) => e.type === 'observe' && e.event?.event_type === 'batch.ready.v1'),
      1,
    );
    for (const [i, e] of ['e-1', 'e-2', 'e-3'].entries()) stuck.slot('b-1', e).settled_ms_ago = 900 + i * 100;
    const v = checkOneReadyPerBatch({ ...stuck.input, online: true });
    expect(v.errorCount).toBe(1);
    expect(v.firstError).toMatchObject({ batch_id: 'b-1', slots: 3, effect_ago_ms: 900 });
  });

  it('rejects a timed-out event whose missing essays differ from the free slots', () => {
    const lab = new LabSim();
    lab.register('b-2', ['e-4', 'e-5']);
    lab.content('b-2', 't-4');
    const d = lab.closingData('b-2');
    lab.observe(ev.timedOut('b-2', d.essays, d.validation_failures, []));
    lab.batch('b-2').status = 'timed_out';
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'batch.timed_out of batch b-2 does not match Postgres: essay e-5 is not listed in the event but free in Postgres',
    );
  });

  it('rejects a ready batch with free slots, and a ready event for a batch Postgres does not know', () => {
    const lab = new LabSim();
    lab.register('b-1', ['e-1', 'e-2']);
    lab.content('b-1', 't-1');
    lab.ready('b-1');
    lab.observe(ev.ready('b-7', [], []));
    const v = checkOneReadyPerBatch(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch b-1 is ready but slot e-2 is still free in Postgres',
      'batch b-7 was announced ready but is not in Postgres',
    ]);
  });
});
