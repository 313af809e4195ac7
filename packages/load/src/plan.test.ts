import { describe, expect, test } from 'vitest';
import {
  BATCH_ID_MAX_LENGTH,
  BATCH_ID_PATTERN,
  PlanLedger,
  PlanOptionsError,
  RequestPlan,
  planExpectations,
  toHttp,
  type PlanProfile,
  type PlannedRequest,
  type UploadRequest,
} from './plan.js';

const profile: PlanProfile = {
  seed: 11,
  batches: { sizeMin: 2, sizeMax: 12, deadlineSeconds: 120 },
  duplicateRatio: 0.05,
  validationFailureRatio: 0.1,
  registerFirstRatio: 0.7,
  textBytes: { min: 50, max: 400 },
};

function take(plan: RequestPlan, n: number): PlannedRequest[] {
  return Array.from({ length: n }, () => plan.next());
}

describe('determinism', () => {
  test('the same profile, seed and prefix give the same requests', () => {
    const a = take(new RequestPlan({ profile, batchPrefix: 'run-a' }), 3000);
    const b = take(new RequestPlan({ profile, batchPrefix: 'run-a' }), 3000);
    expect(b).toEqual(a);
  });

  test('another seed gives another sequence; another prefix only other ids', () => {
    const a = take(new RequestPlan({ profile, batchPrefix: 'run-a' }), 500);
    const otherSeed = take(new RequestPlan({ profile, batchPrefix: 'run-a', seed: 12 }), 500);
    expect(otherSeed.map((r) => r.name + r.batchIndex)).not.toEqual(a.map((r) => r.name + r.batchIndex));
    const otherPrefix = take(new RequestPlan({ profile, batchPrefix: 'run-b' }), 500);
    expect(otherPrefix.map((r) => r.name + r.batchIndex)).toEqual(a.map((r) => r.name + r.batchIndex));
    expect(otherPrefix.every((r) => r.batchId.startsWith('run-b-'))).toBe(true);
  });

  test('at(i) moves forward to iteration i, as a k6 VU does; never back', () => {
    const all = take(new RequestPlan({ profile, batchPrefix: 'p' }), 200);
    const vu = new RequestPlan({ profile, batchPrefix: 'p' });
    for (const i of [3, 4, 50, 199]) expect(vu.at(i)).toEqual(all[i]);
    expect(() => vu.at(10)).toThrow(RangeError);
  });

  test('the request bodies are deterministic too (duplicates byte-identical to their original)', () => {
    const requests = take(new RequestPlan({ profile, batchPrefix: 'p' }), 2000);
    const byIteration = new Map(requests.map((r) => [r.iteration, r]));
    const duplicates = requests.filter((r): r is UploadRequest => r.name === 'upload_duplicate');
    expect(duplicates.length).toBeGreaterThan(0);
    for (const d of duplicates) {
      const original = byIteration.get(d.duplicateOf!)!;
      expect(original.iteration).toBeLessThan(d.iteration);
      expect(toHttp(d, 0)).toEqual(toHttp(original, 0));
    }
  });
});

describe('over 10k iterations', () => {
  const requests = take(new RequestPlan({ profile, batchPrefix: 'ratio' }), 10_000);
  const uploads = requests.filter((r): r is UploadRequest => r.name === 'upload' || r.name === 'upload_invalid');

  test('duplicates ≈ duplicateRatio of the iterations', () => {
    const duplicates = requests.filter((r) => r.name === 'upload_duplicate').length;
    // Binomial standard deviation at 10k: 0.0022; ±0.01 is 4.5 of them.
    expect(Math.abs(duplicates / requests.length - profile.duplicateRatio)).toBeLessThan(0.01);
  });

  test('invalid essays ≈ validationFailureRatio of the essays, with empty text', () => {
    const invalid = uploads.filter((u) => u.invalid);
    expect(Math.abs(invalid.length / uploads.length - profile.validationFailureRatio)).toBeLessThan(0.015);
    for (const u of invalid) expect(JSON.parse(toHttp(u, 0).body)).toMatchObject({ text: '' });
  });

  test('every essay of every batch is uploaded exactly once, plus duplicates; one registration each', () => {
    const batches = new Map<string, { size: number; essays: number[]; registrations: number }>();
    for (const r of requests) {
      const b = batches.get(r.batchId) ?? { size: r.essayCount, essays: [], registrations: 0 };
      batches.set(r.batchId, b);
      expect(r.essayCount).toBe(b.size);
      if (r.name === 'register') b.registrations++;
      else if (r.name !== 'upload_duplicate') b.essays.push(r.essayIndex);
    }
    const complete = planExpectations({ profile, batchPrefix: 'ratio' }, requests.length).filter((e) => e.complete);
    expect(complete.length).toBeGreaterThan(100);
    for (const e of complete) {
      const b = batches.get(e.batchId)!;
      expect(b.registrations).toBe(1);
      expect(b.essays.sort((x, y) => x - y)).toEqual(Array.from({ length: b.size }, (_, k) => k));
    }
    for (const b of batches.values()) {
      expect(b.registrations).toBeLessThanOrEqual(1);
      expect(new Set(b.essays).size).toBe(b.essays.length);
    }
    // Only the batches still open at the end are incomplete.
    expect(batches.size - complete.length).toBeLessThanOrEqual(4);
  });

  test('registrations sometimes come after the first uploads (≈ 1 − registerFirstRatio of batches)', () => {
    const firstSeen = new Map<string, string>();
    for (const r of requests) if (!firstSeen.has(r.batchId)) firstSeen.set(r.batchId, r.name);
    const late = [...firstSeen.values()].filter((name) => name !== 'register').length;
    expect(Math.abs(late / firstSeen.size - (1 - profile.registerFirstRatio!))).toBeLessThan(0.08);
  });

  test('batches interleave: several are open at once', () => {
    let windowsWithSeveral = 0;
    for (let i = 0; i + 10 <= requests.length; i += 10) {
      if (new Set(requests.slice(i, i + 10).map((r) => r.batchId)).size > 1) windowsWithSeveral++;
    }
    expect(windowsWithSeveral / (requests.length / 10)).toBeGreaterThan(0.9);
  });

  test('batch ids match the service pattern and length; keys are unique per essay', () => {
    for (const r of requests) {
      expect(r.batchId).toMatch(BATCH_ID_PATTERN);
      expect(r.batchId.length).toBeLessThanOrEqual(BATCH_ID_MAX_LENGTH);
    }
    expect(new Set(uploads.map((u) => u.idempotencyKey)).size).toBe(uploads.length);
  });
});

describe('the ledger', () => {
  test('counts a prefix: complete only when registered and every essay uploaded', () => {
    const plan = new RequestPlan({ profile, batchPrefix: 'ledger' });
    const ledger = new PlanLedger();
    const requests = take(plan, 300);
    requests.forEach((r) => ledger.record(r));
    const batches = ledger.batches();
    expect(batches).toEqual(planExpectations({ profile, batchPrefix: 'ledger' }, 300));
    expect(ledger.issuedCount).toBe(300);
    const total = batches.reduce((n, b) => n + (b.registered ? 1 : 0) + b.uploadedEssays + b.duplicates, 0);
    expect(total).toBe(300);
    for (const b of batches) expect(b.complete).toBe(b.registered && b.uploadedEssays === b.essayCount);
    expect(batches.some((b) => !b.complete)).toBe(true);
  });
});

describe('HTTP requests', () => {
  test('a registration carries batch_id, essay_count and a deadline deadlineSeconds ahead', () => {
    const register = take(new RequestPlan({ profile, batchPrefix: 'h' }), 50).find((r) => r.name === 'register')!;
    const spec = toHttp(register, Date.parse('2026-01-01T00:00:00Z'));
    expect(spec.path).toBe('/v1/batches');
    expect(JSON.parse(spec.body)).toEqual({
      batch_id: register.batchId,
      essay_count: register.essayCount,
      deadline: '2026-01-01T00:02:00.000Z',
    });
  });

  test('an upload carries its key and textLength bytes of text', () => {
    const upload = take(new RequestPlan({ profile, batchPrefix: 'h' }), 50).find(
      (r): r is UploadRequest => r.name === 'upload',
    )!;
    const spec = toHttp(upload, 0);
    expect(spec.path).toBe(`/v1/batches/${upload.batchId}/contents`);
    expect(spec.headers['Idempotency-Key']).toBe(upload.idempotencyKey);
    const body = JSON.parse(spec.body) as { original_file_name: string; text: string };
    expect(Buffer.byteLength(body.text)).toBe(upload.textLength);
    expect(upload.textLength).toBeGreaterThanOrEqual(50);
  });

  test('bad options are rejected naming the field and value', () => {
    expect(() => new RequestPlan({ profile, batchPrefix: 'has space' })).toThrow(PlanOptionsError);
    expect(() => new RequestPlan({ profile, batchPrefix: 'has space' })).toThrow(/batchPrefix="has space"/);
    expect(() => new RequestPlan({ profile, batchPrefix: 'x'.repeat(190) })).toThrow(/batchPrefix/);
    expect(() => new RequestPlan({ profile, batchPrefix: 'ok', openBatches: 0 })).toThrow(/openBatches=0/);
  });
});
