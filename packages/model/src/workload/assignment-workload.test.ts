import { describe, expect, it } from 'vitest';
import { EventType } from '@chaos-lab/contracts';
import { planAssignmentWorkload } from './assignment-workload.js';
import { InvalidArgumentError } from '@chaos-lab/errors';

const opts = { idPrefix: 'w', batches: 10, slotsPerBatch: 8 };

describe('planAssignmentWorkload', () => {
  it('gives the same plan for the same seed, and a different one for another seed', () => {
    const a = planAssignmentWorkload(42, opts);
    const b = planAssignmentWorkload(42, opts);
    const c = planAssignmentWorkload(43, opts);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.publishes)).not.toBe(JSON.stringify(c.publishes));
  });

  it('registers every batch once and provisions one content per unfailed slot plus the excess', () => {
    const p = planAssignmentWorkload(7, { ...opts, duplicateRatio: 0, burstCopies: 0 });
    const regs = p.publishes.filter((x) => x.event?.event_type === EventType.BatchRegistered);
    expect(regs).toHaveLength(10);
    const contents = p.publishes.filter((x) => x.event?.event_type === EventType.ContentProvisioned);
    const failures = p.publishes.filter((x) => x.event?.event_type === EventType.ValidationFailedV2);
    expect(failures.length).toBe(p.expected.failures);
    expect(new Set(failures.map((f) => f.event?.data.batch_id + '/' + JSON.stringify(f.event?.data))).size).toBe(
      failures.length,
    );
    expect(contents).toHaveLength(p.expected.contents);
    expect(contents.length + failures.length).toBe(10 * 8 + p.expected.excessContents);
  });

  it("names each failure's upload (v2), or sends v1 failures when asked; a bad version is refused by name", () => {
    const v2 = planAssignmentWorkload(7, { ...opts, failureRatio: 0.5, fileNamePool: 2 });
    const uploads = v2.publishes.flatMap((x) =>
      x.event?.event_type === EventType.ValidationFailedV2
        ? [`${x.event.data.batch_id}/${x.event.data.upload_id}`]
        : [],
    );
    expect(uploads.length).toBeGreaterThan(5);
    expect(new Set(uploads).size).toBe(uploads.length);
    // A pool of two names: different uploads of one batch share a name.
    const names = v2.publishes.flatMap((x) =>
      x.event?.event_type === EventType.ValidationFailedV2
        ? [`${x.event.data.batch_id}/${x.event.data.original_file_name}`]
        : [],
    );
    expect(new Set(names).size).toBeLessThan(names.length);
    const v1 = planAssignmentWorkload(7, { ...opts, failureVersion: 1, failureRatio: 0.5 });
    expect(v1.publishes.some((x) => x.event?.event_type === EventType.ValidationFailed)).toBe(true);
    expect(v1.publishes.some((x) => x.event?.event_type === EventType.ValidationFailedV2)).toBe(false);
    expect(() => planAssignmentWorkload(7, { ...opts, failureVersion: 3 as 2 })).toThrow('failureVersion');
  });

  it('publishes some contents before their registration', () => {
    const p = planAssignmentWorkload(3, { ...opts, lateRegistrationRatio: 1 });
    expect(p.publishes.some((x) => x.role === 'late-registration')).toBe(true);
    const firstSeen = new Map<string, string>();
    for (const x of p.publishes) if (!firstSeen.has(x.key)) firstSeen.set(x.key, x.event?.event_type ?? 'poison');
    expect([...firstSeen.values()].some((t) => t !== EventType.BatchRegistered)).toBe(true);
  });

  it('redelivers the same event (same id) for duplicates', () => {
    const p = planAssignmentWorkload(5, { ...opts, duplicateRatio: 0.5, burstCopies: 0 });
    const dups = p.publishes.filter((x) => x.role === 'duplicate');
    expect(dups.length).toBe(p.expected.duplicates);
    for (const d of dups) {
      const originals = p.publishes.filter((x) => x.role !== 'duplicate' && x.event?.event_id === d.event?.event_id);
      expect(originals).toHaveLength(1);
      expect(p.publishes.indexOf(originals[0]!)).toBeLessThan(p.publishes.indexOf(d));
    }
  });

  it('spreads the burst over every partition, all copies one event', () => {
    const p = planAssignmentWorkload(9, { ...opts, burstCopies: 12, partitions: 4 });
    const burst = p.publishes.filter((x) => x.role === 'burst');
    expect(burst).toHaveLength(12);
    expect(new Set(burst.map((x) => x.partition))).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set(burst.map((x) => x.event?.event_id)).size).toBe(1);
  });

  it('rejects bad options naming the field and the value', () => {
    expect(() => planAssignmentWorkload(1, { ...opts, slotsPerBatch: 0 })).toThrow(InvalidArgumentError);
    expect(() => planAssignmentWorkload(1, { ...opts, slotsPerBatch: 0 })).toThrow(
      'slotsPerBatch: expected an integer from 1 to 10000 (got 0)',
    );
    expect(() => planAssignmentWorkload(1, { ...opts, duplicateRatio: 1.5 })).toThrow(/^duplicateRatio/);
    expect(() => planAssignmentWorkload(1, { ...opts, idPrefix: 'has space' })).toThrow(/^idPrefix/);
    expect(() => planAssignmentWorkload(-1, opts)).toThrow(/^seed/);
  });
});

describe('planAssignmentWorkload extras', () => {
  it('adds poison of every kind, orphans, deadline batches with a withheld content, and late contents', () => {
    const p = planAssignmentWorkload(21, {
      ...opts,
      poisonPerKind: 2,
      orphanContents: 4,
      timeoutBatches: 2,
      lateContents: 3,
      deadlineMs: 1500,
    });
    const roles = (r: string) => p.publishes.filter((x) => x.role === r);
    for (const kind of ['poison-bad-json', 'poison-unknown-type', 'poison-schema', 'poison-oversized']) {
      expect(roles(kind)).toHaveLength(2);
      for (const x of roles(kind)) expect(x.event).toBeUndefined();
    }
    expect(p.expected.poison).toBe(8);
    expect(roles('orphan')).toHaveLength(4);
    const deadlines = roles('deadline-registration');
    expect(deadlines).toHaveLength(2);
    for (const d of deadlines) {
      expect(d.deadlineInMs).toBe(1500);
      const slots = d.event?.event_type === EventType.BatchRegistered ? d.event.data.essay_ids.length : 0;
      const contents = p.publishes.filter((x) => x.key === d.key && x.role === 'content');
      expect(contents).toHaveLength(slots - 1);
    }
    expect(p.publishes.slice(-3).map((x) => x.role)).toEqual(['late', 'late', 'late']);
  });
});
