import { describe, expect, it } from 'vitest';
import { checkNoDuplicateAssignment, noDuplicateAssignment } from './no-duplicate-assignment.js';
import { LabSim, correctRun, ev } from './test-support.js';

describe('no-duplicate-assignment', () => {
  it('accepts a correct run, counting redeliveries of the same event as one assignment', () => {
    const lab = correctRun();
    lab.observe(ev.slotAssigned('b-1', 'e-1', 't-1'), 3); // the same event (id + data) delivered 3 more times
    const v = noDuplicateAssignment(lab.input);
    expect(v).toMatchObject({ checker: 'no-duplicate-assignment', valid: true, errorCount: 0, errors: [] });
    expect(v.stats).toMatchObject({
      assignmentEvents: 3,
      pgAssignments: 3,
      slotAssignedDeliveries: 6,
      slotAssignedRedeliveries: 3,
    });
  });

  it('finds a content assigned to two slots only in the events (same derived id, other essay)', () => {
    const lab = correctRun();
    // After a crash the coordinator re-assigns t-1 to e-3: same event id, different data.
    lab.observe(ev.slotAssigned('b-1', 'e-3', 't-1'));
    const second = lab.lastTime;
    lab.observe(ev.slotAssigned('b-1', 'e-3', 't-1')); // a redelivery: the claim still dates from its first
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(2);
    expect(v.firstError?.message).toBe('content t-1 of batch b-1 is in slots e-1 and e-3 (slot-assigned events)');
    expect(v.errors[1]?.message).toBe(
      'content t-1 of batch b-1 is in slot e-3 per a slot-assigned event but in slot e-1 in Postgres',
    );
    // Both date from the observe entry of the second claim: when the content was in two slots for the world.
    expect(v.errors.map((e) => e.time)).toEqual([second, second]);
  });

  it('online: claims in the events and Postgres states, never one against the other', () => {
    const lab = correctRun();
    lab.observe(ev.slotAssigned('b-1', 'e-3', 't-1'));
    const v = checkNoDuplicateAssignment({ ...lab.input, online: true });
    // The events' duplicate, not the event against the snapshot (read at another moment).
    expect(v.errors.map((e) => e.message)).toEqual([
      'content t-1 of batch b-1 is in slots e-1 and e-3 (slot-assigned events)',
    ]);

    const pg = correctRun();
    Object.assign(pg.slot('b-2', 'e-5'), {
      state: 'assigned',
      text_storage_id: 't-4',
      original_file_name: 't-4.txt',
      settled_ms_ago: 250,
    });
    pg.slot('b-2', 'e-4').settled_ms_ago = 4000;
    const p = checkNoDuplicateAssignment({ ...pg.input, online: true });
    expect(p.firstError).toMatchObject({ source: 'postgres', essay_ids: ['e-4', 'e-5'], effect_ago_ms: 250 });
  });

  it('finds a content in two slots only in Postgres', () => {
    const lab = correctRun();
    Object.assign(lab.slot('b-2', 'e-5'), { state: 'assigned', text_storage_id: 't-4', original_file_name: 't-4.txt' });
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe('content t-4 of batch b-2 is in slots e-4 and e-5 in Postgres');
    expect(v.firstError).toMatchObject({ source: 'postgres', essay_ids: ['e-4', 'e-5'] });
    // The final read alone shows it: no history time of its own.
    expect(v.firstError?.time).toBeUndefined();
  });

  it('finds a slot holding two contents in the events', () => {
    const lab = correctRun();
    lab.observe(ev.slotAssigned('b-1', 'e-1', 't-5'));
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(2);
    expect(v.firstError?.message).toBe('slot e-1 of batch b-1 holds contents t-1 and t-5 (slot-assigned events)');
    expect(v.errors[1]?.message).toBe(
      'slot e-1 of batch b-1 holds content t-5 per a slot-assigned event but t-1 in Postgres',
    );
  });

  it('finds a slot holding two contents in Postgres', () => {
    const lab = correctRun();
    lab.final.postgres.slots.push({
      batch_id: 'b-1',
      essay_id: 'e-1',
      state: 'assigned',
      text_storage_id: 't-7',
      original_file_name: 't-7.txt',
    });
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe('slot e-1 of batch b-1 holds contents t-1 and t-7 in Postgres');
  });

  it('finds an event that disagrees with Postgres about the slot of a content', () => {
    const lab = new LabSim();
    lab.register('b-1', ['e-1', 'e-2']);
    lab.content('b-1', 't-1'); // event: t-1 → e-1
    Object.assign(lab.slot('b-1', 'e-1'), { state: 'free', text_storage_id: null, original_file_name: null });
    Object.assign(lab.slot('b-1', 'e-2'), { state: 'assigned', text_storage_id: 't-1', original_file_name: 't-1.txt' });
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'content t-1 of batch b-1 is in slot e-1 per a slot-assigned event but in slot e-2 in Postgres',
    );
  });

  it('finds an announced assignment that Postgres does not hold', () => {
    const lab = new LabSim();
    lab.register('b-1', ['e-1', 'e-2']);
    lab.content('b-1', 't-1');
    Object.assign(lab.slot('b-1', 'e-1'), { state: 'free', text_storage_id: null, original_file_name: null });
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      'a slot-assigned event puts content t-1 of batch b-1 in slot e-1 but Postgres has no such assignment (slot e-1 is free)',
    );
  });

  it('finds a validation failure that settled two slots, and an assigned slot without content', () => {
    const lab = correctRun();
    Object.assign(lab.slot('b-2', 'e-5'), { state: 'failed', original_file_name: 'f-1.txt' });
    lab.final.postgres.slots.push({
      batch_id: 'b-9',
      essay_id: 'e-9',
      state: 'assigned',
      text_storage_id: null,
      original_file_name: null,
    });
    // f-1.txt of b-2 is a different failure from f-1.txt of b-1: no error for that.
    Object.assign(lab.slot('b-1', 'e-2'), { state: 'failed', text_storage_id: null, original_file_name: 'f-1.txt' });
    const v = checkNoDuplicateAssignment(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errors.map((e) => e.message)).toEqual([
      'slot e-9 of batch b-9 is assigned but holds no content in Postgres',
      'validation failure f-1.txt of batch b-1 settled slots e-2 and e-3 in Postgres',
      'a slot-assigned event puts content t-2 of batch b-1 in slot e-2 but Postgres has no such assignment (slot e-2 is failed)',
    ]);
    expect(v.errorCount).toBe(3);
  });
});
