/**
 * A validation failure is one upload. v2 names it (`upload_id`); v1 cannot, so the coordinator can only key
 * it by file name, while the lab's model still counts each distinct v1 event as one upload. These tests pin
 * what the checkers say when two uploads of one batch share a file name.
 */
import { describe, expect, it } from 'vitest';
import { checkEveryBatchFinished } from './every-batch-finished.js';
import { checkNoDuplicateAssignment } from './no-duplicate-assignment.js';
import { checkNothingLost } from './nothing-lost.js';
import { checkStoresAgree } from './stores-agree.js';
import { correctRun, input } from './test-support.js';

/** bu-9: three slots, one content assigned, two failures of `essay.docx` from uploads u-1 and u-2. */
function twoUploadsOneName(settledBoth: boolean) {
  const lab = correctRun();
  lab.register('bu-9', ['e-91', 'e-92', 'e-93']);
  lab.content('bu-9', 't-91');
  lab.publish(input.failureV2('bu-9', 'u-1', 'essay.docx', 'empty file'));
  lab.publish(input.failureV2('bu-9', 'u-2', 'essay.docx', 'empty file'));
  const fail = (essay: string, upload: string) => {
    Object.assign(lab.slot('bu-9', essay), { state: 'failed', original_file_name: 'essay.docx', upload_id: upload });
    const r = lab.redis('bu-9');
    r.free = r.free.filter((e) => e !== essay);
    r.failed[`upload:${upload}`] = essay;
  };
  const assigned = lab.final.postgres.slots.find(
    (s) => s.batch_id === 'bu-9' && s.text_storage_id === 't-91',
  )!.essay_id;
  const [first, second] = ['e-91', 'e-92', 'e-93'].filter((e) => e !== assigned);
  fail(first!, 'u-1');
  if (settledBoth) fail(second!, 'u-2');
  return lab;
}

describe('failure identity: two uploads of one file name', () => {
  it('v2: two failed slots for two uploads are neither a duplicate nor a loss, and the stores agree', () => {
    const lab = twoUploadsOneName(true);
    expect(checkNoDuplicateAssignment(lab.input).errors).toEqual([]);
    expect(checkNothingLost(lab.input).errors).toEqual([]);
    expect(checkStoresAgree(lab.input).errors).toEqual([]);
  });

  it('v2: the second upload taken as a redelivery of the first is a lost failure and an unfinished batch', () => {
    const lab = twoUploadsOneName(false);
    const lost = checkNothingLost(lab.input);
    expect(lost.valid).toBe(false);
    expect(lost.firstError?.message).toContain('validation failure upload:u-2 of batch bu-9');
    const unfinished = checkEveryBatchFinished(lab.input);
    expect(unfinished.valid).toBe(false);
    expect(unfinished.firstError?.message).toContain('batch bu-9 never finished');
  });

  it('v1: two events of one file name are two uploads the batch waits for, though v1 can only key them by name', () => {
    const lab = correctRun();
    lab.register('bu-8', ['e-81', 'e-82']);
    lab.failure('bu-8', 'essay.docx');
    lab.failure('bu-8', 'essay.docx'); // another upload: a new event, not a redelivery
    const v = checkEveryBatchFinished(lab.input);
    expect(v.valid).toBe(false);
    expect(v.firstError?.message).toContain('batch bu-8 never finished');
    // A redelivery (the same event again) is one upload: a batch of one slot finishes with it.
    const redelivered = correctRun();
    redelivered.register('bu-7', ['e-71']);
    const once = input.failure('bu-7', 'essay.docx');
    redelivered.publish(once);
    redelivered.publish(once);
    expect(
      checkEveryBatchFinished(redelivered.input)
        .errors.map((e) => e.message)
        .join(),
    ).toContain('batch bu-7 never finished');
  });
});
