import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventType, Id, MAX_EVENT_BYTES, inputTopics, topics, type Topics } from '@chaos-lab/contracts';
import { HOSTILE_CLASSES, contractAccepts, planHostileInputs, type HostileInputOptions } from './hostile-inputs.js';
import type { PlannedPublish } from './assignment-workload.js';
import { InvalidArgumentError } from '@chaos-lab/errors';

const t = topics('hx.');
const opts: HostileInputOptions = { count: 200, idPrefix: 'w1', topics: t, partitions: 6 };
const bytesOf = (b64: string) => Buffer.from(b64, 'base64');
const valueOf = (p: PlannedPublish) => bytesOf(p.valueBase64!);
const utf8 = (s: string) => Buffer.from(s, 'utf8');

function validEvent(): Record<string, unknown> {
  return {
    event_id: '6f1c2b7e-3a55-4d0b-9a0e-3f1f0b8c2d41',
    event_type: EventType.ContentProvisioned,
    correlation_id: 'c',
    occurred_at: '2026-01-01T00:00:00Z',
    data: { batch_id: 'w1-hx1', text_storage_id: 'w1-hx1-t0', original_file_name: 'a.txt' },
  };
}

/** Entries of several seeds, generated once (each test reads them). */
const plans = new Map<number, PlannedPublish[]>();
function plan(seed: number, count = 200): PlannedPublish[] {
  const k = seed * 1_000_000 + count;
  const p = plans.get(k) ?? planHostileInputs(seed, { ...opts, count });
  plans.set(k, p);
  return p;
}

describe('contractAccepts (the oracle)', () => {
  it('accepts a valid event on its topic and rejects the same event elsewhere', () => {
    const v = utf8(JSON.stringify(validEvent()));
    expect(contractAccepts(t.contentProvisioned, v, t)).toBe(true);
    expect(contractAccepts(t.batchRegistered, v, t)).toBe(false);
    expect(contractAccepts(t.validationFailed, v, t)).toBe(false);
  });

  it('rejects empty, oversized, non-JSON, unknown types and schema mismatches, as the parser does', () => {
    const ev = validEvent();
    const json = JSON.stringify(ev);
    expect(contractAccepts(t.contentProvisioned, new Uint8Array(0), t)).toBe(false);
    // Exactly the limit passes, one byte more does not.
    const at = (n: number) => utf8(`{${' '.repeat(n - Buffer.byteLength(json))}${json.slice(1)}`);
    expect(contractAccepts(t.contentProvisioned, at(MAX_EVENT_BYTES), t)).toBe(true);
    expect(contractAccepts(t.contentProvisioned, at(MAX_EVENT_BYTES + 1), t)).toBe(false);
    expect(contractAccepts(t.contentProvisioned, utf8(json.slice(0, -1)), t)).toBe(false);
    expect(contractAccepts(t.contentProvisioned, utf8(JSON.stringify({ ...ev, event_type: 'x.v1' })), t)).toBe(false);
    const extra = { ...ev, data: { ...(ev.data as object), extra: 1 } };
    expect(contractAccepts(t.contentProvisioned, utf8(JSON.stringify(extra)), t)).toBe(false);
    // Invalid UTF-8 decodes to U+FFFD: fine in a file name, not in an id.
    const [before, after] = JSON.stringify({ ...ev, data: { ...(ev.data as object), original_file_name: 'M' } })
      .split('"M"')
      .map(utf8);
    const inName = Buffer.concat([before!, utf8('"'), Buffer.from([0xff]), utf8('"'), after!]);
    expect(contractAccepts(t.contentProvisioned, inName, t)).toBe(true);
    // A subarray (offset into a larger buffer) is read from its own offset.
    const padded = Buffer.concat([utf8('xx'), utf8(json)]).subarray(2);
    expect(contractAccepts(t.contentProvisioned, padded, t)).toBe(true);
  });
});

describe('planHostileInputs', () => {
  it('gives identical entries for the same seed and different ones for another seed', () => {
    const a = planHostileInputs(42, opts);
    expect(planHostileInputs(42, opts)).toEqual(a);
    expect(planHostileInputs(43, opts)).not.toEqual(a);
    // Global fast-check settings (another test's) must not change the stream.
    fc.configureGlobal({ seed: 7, numRuns: 3, baseSize: 'xlarge', randomType: 'mersenne' });
    try {
      expect(planHostileInputs(42, opts)).toEqual(a);
    } finally {
      fc.resetConfigureGlobal();
    }
  });

  it('plans only messages the contract rejects, each well formed as a plan entry', () => {
    const inputs = new Set(inputTopics(t));
    for (let seed = 1; seed <= 20; seed++) {
      const p = plan(seed);
      expect(p).toHaveLength(200);
      p.forEach((e, i) => {
        const where = `seed ${seed} entry ${i} (${e.role})`;
        expect(contractAccepts(e.topic, valueOf(e), t), where).toBe(false);
        expect(inputs.has(e.topic), where).toBe(true);
        expect(e.key, where).toBe(`w1-h${i}`);
        expect(e.keyBase64 === null || typeof e.keyBase64 === 'string', where).toBe(true);
        expect(e.event, where).toBeUndefined();
        expect(
          HOSTILE_CLASSES.map((c) => `hostile:${c}`),
          where,
        ).toContain(e.role);
        if (e.partition !== undefined)
          expect(e.partition >= 0 && e.partition < 6 && Number.isInteger(e.partition)).toBe(true);
        // Batch ids stay under the run's prefix; a valid one never names a batch of the assignment workload.
        const batchId = batchIdOf(e);
        if (typeof batchId === 'string' && batchId !== '') expect(batchId.startsWith('w1'), where).toBe(true);
        if (typeof batchId === 'string' && Id.safeParse(batchId).success) expect(batchId, where).toMatch(/^w1-hx/);
      });
    }
  });

  it('draws every class within 200 entries', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const roles = new Set(plan(seed).map((e) => e.role));
      for (const c of HOSTILE_CLASSES) expect(roles, `seed ${seed}`).toContain(`hostile:${c}`);
    }
  });

  it('draws the edge cases that matter within 1000 entries', () => {
    const features: Record<string, (e: PlannedPublish) => boolean> = {
      'single 0x00 value': (e) => valueOf(e).equals(Buffer.from([0])),
      'empty value': (e) => valueOf(e).length === 0,
      'invalid UTF-8 value': (e) => !isUtf8(valueOf(e)),
      // JSON.stringify escapes exactly the lone surrogates.
      'lone surrogate escape in JSON': (e) => /\\ud[89a-f][0-9a-f]{2}/i.test(valueOf(e).toString('utf8')),
      // JSON.stringify never writes a raw control character: one in an event's JSON was put there.
      'raw control character in an event JSON': (e) => {
        const v = valueOf(e);
        return v.toString('utf8').startsWith('{"event_id":') && v.at(-1) === 0x7d && v.some((c) => c < 0x20);
      },
      'value over MAX_EVENT_BYTES': (e) => valueOf(e).length > MAX_EVENT_BYTES,
      'null key': (e) => e.keyBase64 === null,
      'empty key': (e) => e.keyBase64 === '',
      'key with 0x00': (e) => e.keyBase64 != null && bytesOf(e.keyBase64).includes(0),
      'invalid UTF-8 key': (e) => e.keyBase64 != null && !isUtf8(bytesOf(e.keyBase64)),
      'huge key': (e) => e.keyBase64 != null && bytesOf(e.keyBase64).length >= 10 * 1024,
      'wrong topic': (e) => isValidOnAnotherTopic(e, t),
      'more than 10,000 essay ids': (e) => essayCount(e) > 10_000,
    };
    for (let seed = 1; seed <= 5; seed++) {
      const p = plan(seed, 1000);
      for (const [name, has] of Object.entries(features)) expect(p.some(has), `seed ${seed}: ${name}`).toBe(true);
      // Oversized values are rare: one in 50.
      expect(p.filter((e) => valueOf(e).length > MAX_EVENT_BYTES)).toHaveLength(20);
      expect(Math.max(...p.map((e) => valueOf(e).length))).toBeLessThanOrEqual(MAX_EVENT_BYTES + 1024);
    }
  });

  it('generates 200 entries fast', () => {
    planHostileInputs(100, opts); // warm-up
    const t0 = performance.now();
    planHostileInputs(101, opts);
    expect(performance.now() - t0).toBeLessThan(1500); // ~50–150 ms on a quiet machine; loose for CI load
  });

  it('gives nothing for count 0 and an explicit partition only when partitions is set', () => {
    expect(planHostileInputs(1, { ...opts, count: 0 })).toEqual([]);
    const p = planHostileInputs(1, { count: 100, idPrefix: 'w1', topics: t });
    expect(p.every((e) => e.partition === undefined)).toBe(true);
    expect(plan(1).some((e) => e.partition !== undefined)).toBe(true);
  });

  it('rejects bad options naming the field and the value', () => {
    expect(() => planHostileInputs(1, { ...opts, count: -1 })).toThrow(InvalidArgumentError);
    expect(() => planHostileInputs(1, { ...opts, count: -1 })).toThrow(
      'count: expected an integer from 0 to 100000 (got -1)',
    );
    expect(() => planHostileInputs(1, { ...opts, count: 1.5 })).toThrow(
      'count: expected an integer from 0 to 100000 (got 1.5)',
    );
    expect(() => planHostileInputs(1, { ...opts, idPrefix: 'has space' })).toThrow(
      'idPrefix: expected letters, digits and . _ : - (1 to 60 characters) (got "has space")',
    );
    expect(() => planHostileInputs(1, { ...opts, idPrefix: '' })).toThrow(InvalidArgumentError);
    expect(() => planHostileInputs(1, { ...opts, partitions: 0 })).toThrow(/^partitions: expected .* \(got 0\)$/);
    expect(() => planHostileInputs(-1, opts)).toThrow(/^seed: expected .* \(got -1\)$/);
  });
});

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

function parsed(e: PlannedPublish): unknown {
  try {
    return JSON.parse(valueOf(e).toString('utf8'));
  } catch {
    return undefined;
  }
}

function batchIdOf(e: PlannedPublish): unknown {
  const j = parsed(e) as { data?: { batch_id?: unknown } } | null | undefined;
  return j !== null && typeof j === 'object' && j.data !== null && typeof j.data === 'object'
    ? j.data.batch_id
    : undefined;
}

function essayCount(e: PlannedPublish): number {
  const ids = (parsed(e) as { data?: { essay_ids?: unknown } } | undefined)?.data?.essay_ids;
  return Array.isArray(ids) ? ids.length : 0;
}

function isValidOnAnotherTopic(e: PlannedPublish, ts: Topics): boolean {
  const v = valueOf(e);
  return inputTopics(ts).some((other) => other !== e.topic && contractAccepts(other, v, ts));
}
