import { describe, expect, it } from 'vitest';
import { checkDeadLetters } from './dead-letters.js';
import { checkNothingLost, nothingLost, PARKED_SLACK_MS, PARKED_TTL_MS } from './nothing-lost.js';
import { LabSim, TOPICS, correctRun, ev, input } from './test-support.js';

/** b-1 with two free slots and t-1 assigned to e-1. */
function open(): LabSim {
  const lab = new LabSim();
  lab.register('b-1', ['e-1', 'e-2', 'e-3']);
  lab.content('b-1', 't-1');
  return lab;
}

describe('nothing-lost', () => {
  it('accepts a correct run', () => {
    const v = nothingLost(correctRun().input);
    expect(v).toMatchObject({ checker: 'nothing-lost', valid: true, errorCount: 0 });
    expect(v.stats).toMatchObject({ contents: 5, assigned: 3, excess: 1, orphansParked: 1, failedSlots: 1 });
  });

  it('accepts indeterminate publishes that were lost or delivered, repeated inputs, and a failure dropped by a full batch', () => {
    const lab = open();
    lab.content('b-1', 't-2', { outcome: 'info', delivered: false }); // may not have happened: absent is fine
    lab.content('b-1', 't-3', { outcome: 'none' }); // never completed, but delivered: present, and fully accounted for
    lab.content('b-1', 't-1'); // the workload repeats an input: idempotent
    lab.content('b-1', 't-4', { outcome: 'fail' }); // definitely not sent, and absent
    lab.content('b-1', 't-5');
    lab.failure('b-1', 'late.txt'); // batch full: dropped
    const v = checkNothingLost(lab.input);
    expect(v.errors).toEqual([]);
    expect(v.valid).toBe(true);
    expect(v.stats).toMatchObject({
      contents: 5,
      contentsOk: 2,
      contentsInfo: 2,
      contentsFail: 1,
      contentsInfoAbsent: 1,
      failuresDropped: 1,
    });
  });

  it('finds a content published ok that vanished', () => {
    const lab = open();
    lab.publish(input.content('b-1', 't-2')); // acknowledged by Kafka, never processed
    const v = checkNothingLost(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'content t-2 of batch b-1 (publish ok) is neither assigned nor excess in Postgres',
    );
  });

  it('finds an assignment that was never announced', () => {
    const lab = open();
    lab.publish(input.content('b-1', 't-2'));
    Object.assign(lab.slot('b-1', 'e-2'), { state: 'assigned', text_storage_id: 't-2', original_file_name: 't-2.txt' });
    const v = checkNothingLost(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'content t-2 of batch b-1 is assigned to slot e-2 in Postgres but no slot-assigned or excess event was observed',
    );
  });

  it('finds an announced assignment missing from Postgres', () => {
    const lab = open();
    Object.assign(lab.slot('b-1', 'e-1'), { state: 'free', text_storage_id: null, original_file_name: null });
    const v = checkNothingLost(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'content t-1 of batch b-1 (publish ok) is neither assigned nor excess in Postgres though it was announced assigned to slot e-1',
    );
  });

  it('holds an indeterminate publish that left a trace to the same rules', () => {
    const lab = open();
    lab.publish(input.content('b-1', 't-2'), { outcome: 'info' });
    lab.observe(ev.slotAssigned('b-1', 'e-2', 't-2'));
    const v = checkNothingLost(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'content t-2 of batch b-1 (publish info) is neither assigned nor excess in Postgres though it was announced assigned to slot e-2',
    );
  });

  it('finds a content whose publish failed but which appears anyway', () => {
    const lab = open();
    lab.publish(input.content('b-1', 't-2'), { outcome: 'fail' });
    Object.assign(lab.slot('b-1', 'e-2'), { state: 'assigned', text_storage_id: 't-2', original_file_name: 't-2.txt' });
    lab.observe(ev.slotAssigned('b-1', 'e-2', 't-2'));
    const v = checkNothingLost(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'content t-2 of batch b-1 is assigned to slot e-2 in Postgres though its publish failed (definitely not sent)',
    );
  });

  it('finds a content of an unregistered batch that is not parked, and one of a registered batch left pending', () => {
    const lab = correctRun();
    lab.final.postgres.pending = [{ batch_id: 'b-1', text_storage_id: 't-1', original_file_name: 't-1.txt' }];
    const v = checkNothingLost(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'content t-1 of batch b-1 is still pending in Postgres although the batch is registered',
      'content t-9 of batch b-9 (publish ok) is not parked although the batch was never registered',
    ]);
    expect(v.errorCount).toBe(2);
  });

  it('accepts inputs of a batch never registered parked and announced once, by position or by derived id, and one announced before a late registration', () => {
    const lab = new LabSim();
    lab.publish(input.content('b-9', 't-9'), { partition: 2, offset: '7' });
    lab.publish(input.failure('b-9', 'f.txt'));
    lab.final.postgres.pending.push(
      { batch_id: 'b-9', text_storage_id: 't-9', original_file_name: 't-9.txt', parked_ms: 30_000 },
      { batch_id: 'b-9', text_storage_id: null, original_file_name: 'f.txt', parked_ms: 30_000 },
    );
    lab.observe(ev.orphanDeadLetter('b-9', { topic: TOPICS.contentProvisioned, partition: 2, offset: '7' }));
    lab.observe(ev.orphanDeadLetter('b-9', { kind: 'failure', inputKey: 'f.txt' }));
    lab.register('b-1', ['e-1']);
    lab.content('b-1', 't-1');
    lab.observe(ev.orphanDeadLetter('b-1', { kind: 'content', inputKey: 't-1' }));
    const v = checkNothingLost(lab.input);
    expect(v.errors).toEqual([]);
    expect(v.stats).toMatchObject({ orphansAnnounced: 2, announcedThenRegistered: 1 });
    expect(checkDeadLetters(lab.input)).toMatchObject({
      valid: true,
      stats: { unregisteredBatchInputs: 3, matchedByOrphanId: 2 },
    });
  });

  it('finds an input parked past the TTL with no event, one announced but no longer parked, and one announced twice', () => {
    const lab = correctRun(); // t-9 of b-9 parked, never registered
    lab.final.postgres.pending[0]!.parked_ms = PARKED_TTL_MS + PARKED_SLACK_MS + 1;
    lab.publish(input.content('b-7', 't-7'), { partition: 1, offset: '70' });
    lab.observe(ev.orphanDeadLetter('b-7', { topic: TOPICS.contentProvisioned, partition: 1, offset: '70' }));
    lab.publish(input.content('b-6', 't-6'), { partition: 1, offset: '60' });
    lab.final.postgres.pending.push({ batch_id: 'b-6', text_storage_id: 't-6', original_file_name: 't-6.txt' });
    lab.observe(ev.orphanDeadLetter('b-6', { topic: TOPICS.contentProvisioned, partition: 1, offset: '60' }));
    lab.observe(ev.orphanDeadLetter('b-6', { kind: 'content', inputKey: 't-6' }));
    const v = checkNothingLost(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      `content t-9 of batch b-9 has been parked for 20.0 s (by Postgres' clock) with no dead letter: past the parking TTL of 15 s and 5 s of slack`,
      expect.stringMatching(
        /^content t-7 of batch b-7 \(publish ok\) is not parked although the batch was never registered \(dead-lettered: [0-9a-f-]{36}\)$/,
      ),
      expect.stringMatching(/^content t-6 of batch b-6 was dead-lettered 2 times as of a batch never registered/),
    ]);
    // A dead letter naming another batch than its input's is not an announcement: the dead-letters checker says so.
    const j = lab.publish(input.content('b-1', 't-5'), { partition: 1, offset: '90' });
    lab.observe(ev.orphanDeadLetter('b-2', { topic: TOPICS.contentProvisioned, partition: 1, offset: '90' }));
    expect(checkDeadLetters(lab.input).errors.map((e) => e.message)).toEqual([
      `valid publish #${j} (content t-5 of batch b-1) was dead-lettered (reason: batch b-2 was not registered within 15 s of this input)`,
    ]);
  });

  it('finds a content with two fates, and an excess reason that disagrees', () => {
    const lab = correctRun();
    lab.final.postgres.excess.push({ batch_id: 'b-2', text_storage_id: 't-4', reason: 'no_free_slot' });
    lab.final.postgres.excess[0]!.reason = 'no_free_slot'; // t-3 was announced batch_closed
    const v = checkNothingLost(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'content t-3 of batch b-1 is excess (no_free_slot) in Postgres but the excess event says batch_closed',
      'content t-4 of batch b-2 is both assigned to slot e-4 and excess in Postgres',
    ]);
  });

  it('finds a validation failure that settled no slot while the batch had free slots', () => {
    const lab = open();
    lab.publish(input.failure('b-1', 'bad.txt'));
    const v = checkNothingLost(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'validation failure bad.txt of batch b-1 (publish ok) settled no slot although batch b-1 is open with free slots e-2 and e-3',
    );
  });

  it('finds a lost registration, a registration with other slots, and phantom contents', () => {
    const lab = open();
    lab.publish(input.registered('b-3', ['e-7']));
    lab.register('b-4', ['e-8', 'e-9']);
    lab.final.postgres.slots = lab.final.postgres.slots.filter((s) => s.essay_id !== 'e-9');
    Object.assign(lab.slot('b-1', 'e-3'), { state: 'assigned', text_storage_id: 't-66', original_file_name: 'x.txt' });
    const v = checkNothingLost(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch b-3 was registered (publish ok) but is not in Postgres',
      'batch b-4 in Postgres does not match its registration: essay e-9 has no slot in Postgres',
      'content t-66 of batch b-1 is in slot e-3 in Postgres but was never published',
    ]);
  });

  it('finds failed publishes that left traces, and a failure of an unregistered batch that was not parked', () => {
    const lab = open();
    lab.publish(input.registered('b-2', ['e-4']), { outcome: 'fail' });
    lab.final.postgres.batches.push({ batch_id: 'b-2', expected_count: 1, status: 'open' });
    lab.publish(input.failure('b-1', 'gone.txt'), { outcome: 'fail' });
    Object.assign(lab.slot('b-1', 'e-3'), { state: 'failed', original_file_name: 'gone.txt' });
    lab.publish(input.failure('b-8', 'orphan.txt'));
    const v = checkNothingLost(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch b-2 is in Postgres though its registration publish failed (definitely not sent)',
      'validation failure gone.txt of batch b-1 settled slot e-3 in Postgres though its publish failed (definitely not sent)',
      'validation failure orphan.txt of batch b-8 (publish ok) is not parked although the batch was never registered',
    ]);
    expect(v.errorCount).toBe(3);
  });
});
