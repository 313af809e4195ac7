import { DEAD_LETTER_RAW_LIMIT } from '@chaos-lab/contracts';
import { describe, expect, it } from 'vitest';
import { checkDeadLetters, deadLetters } from './dead-letters.js';
import { LabSim, TOPICS, correctRun, ev, input } from './test-support.js';

const T = TOPICS.contentProvisioned;
const POISON = { poison: true };

describe('dead-letters', () => {
  it('accepts a run without poison, and poison dead-lettered once (redelivered), matched by offset or by raw', () => {
    expect(deadLetters(correctRun().input)).toMatchObject({ checker: 'dead-letters', valid: true, errorCount: 0 });

    const lab = correctRun();
    lab.publish({ raw: '{not json' }, { meta: POISON, partition: 2, offset: '17' });
    lab.observe(ev.deadLetter(T, 2, '17', '{not json', 'malformed JSON'), 2);
    const huge = 'x'.repeat(DEAD_LETTER_RAW_LIMIT + 1000);
    lab.publish({ raw: huge }, { meta: POISON, outcome: 'info' }); // no ack: matched on the truncated raw
    lab.observe(ev.deadLetter(T, 0, '99', huge.slice(0, DEAD_LETTER_RAW_LIMIT), 'oversized'));
    lab.publish({ raw: '[]' }, { meta: POISON, outcome: 'info' }); // may never have been sent: no dead letter is fine
    const v = checkDeadLetters(lab.input);
    expect(v.errors).toEqual([]);
    expect(v.stats).toMatchObject({
      poisonPublishes: 3,
      deadLetters: 2,
      deadLetterDeliveries: 3,
      matchedByOffset: 1,
      matchedByRaw: 1,
    });
  });

  it('finds poison that was not dead-lettered', () => {
    const lab = new LabSim();
    const i = lab.publish({ raw: '{not json' }, { meta: POISON });
    const v = checkDeadLetters(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(`poison publish #${i} to ${T} ("{not json") was not dead-lettered`);
    // An absence is judged at the end: no time.
    expect(v.firstError?.time).toBeUndefined();
  });

  it('accepts one dead letter per stored copy: a publish the broker stored twice (at two offsets) is quarantined twice', () => {
    const lab = new LabSim();
    lab.publish({ raw: '{"bad":1}' }, { meta: POISON, outcome: 'info' });
    lab.observe(ev.deadLetter(T, 0, '5', '{"bad":1}'));
    lab.observe(ev.deadLetter(T, 0, '6', '{"bad":1}'));
    // The same dead letter twice (one offset, one id) is one quarantine decision.
    lab.observe(ev.deadLetter(T, 0, '6', '{"bad":1}'));
    const v = checkDeadLetters(lab.input);
    expect(v.errorCount).toBe(0);
    expect(v.stats).toMatchObject({ deadLetters: 2, poisonStoredMoreThanOnce: 1 });
  });

  it('finds a valid event that was dead-lettered, and a dead letter nobody published', () => {
    const lab = new LabSim();
    const event = input.content('b-1', 't-1');
    const i = lab.publish(event, { partition: 0, offset: '3' });
    lab.observe(ev.deadLetter(T, 0, '3', JSON.stringify(event), 'schema'));
    const validDeadLetteredAt = lab.lastTime;
    lab.observe(ev.deadLetter(T, 1, '40', 'zzz', 'malformed JSON'));
    const v = checkDeadLetters(lab.input);
    expect(v.errors.map((e) => e.time)).toEqual([lab.lastTime, validDeadLetteredAt]);
    expect(v.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^dead letter [0-9a-f-]{36} \(essay\.content\.provisioned\/1@40, reason: malformed JSON\) matches no published message$/,
      ),
      `valid publish #${i} (content t-1 of batch b-1) was dead-lettered (reason: schema)`,
    ]);
  });

  it('online: a valid input dead-lettered is reported; a dead letter still to come, or its input still unrecorded, is not', () => {
    const lab = new LabSim();
    lab.publish({ raw: '{not json' }, { meta: POISON }); // its dead letter may still come
    const event = input.content('b-1', 't-1');
    const i = lab.publish(event, { partition: 0, offset: '3' });
    lab.observe(ev.deadLetter(T, 0, '3', JSON.stringify(event), 'schema'));
    lab.observe(ev.deadLetter(T, 1, '40', 'zzz', 'malformed JSON')); // its publish may not be recorded yet
    const v = checkDeadLetters({ ...lab.input, online: true });
    expect(v.errors.map((e) => e.message)).toEqual([
      `valid publish #${i} (content t-1 of batch b-1) was dead-lettered (reason: schema)`,
    ]);
  });

  it('finds poison dead-lettered although its publish failed', () => {
    const lab = new LabSim();
    lab.publish({ raw: 'nope' }, { meta: POISON, outcome: 'fail' });
    lab.observe(ev.deadLetter(T, 0, '0', 'nope'));
    const v = checkDeadLetters(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe(
      `poison publish #0 to ${T} ("nope") was dead-lettered though its publish failed (definitely not sent)`,
    );
  });
});
