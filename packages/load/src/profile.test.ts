import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ProfileError, arrivalDurationMs, loadProfile, parseProfile } from './profile.js';

const profilesDir = fileURLToPath(new URL('../profiles/', import.meta.url));

const valid = {
  name: 'unit',
  seed: 7,
  arrival: {
    executor: 'constant-arrival-rate',
    rate: 20,
    timeUnit: '1s',
    duration: '15s',
    preAllocatedVUs: 2,
    maxVUs: 10,
  },
  batches: { sizeMin: 2, sizeMax: 5 },
  duplicateRatio: 0.1,
  validationFailureRatio: 0.1,
  textBytes: { min: 10, max: 100 },
  thresholds: { http_req_duration: ['p(95)<250'], http_req_failed: ['rate<0.01'] },
};

function issuesOf(input: unknown): ProfileError {
  try {
    parseProfile(input);
  } catch (error) {
    if (error instanceof ProfileError) return error;
    throw error;
  }
  throw new Error('expected a ProfileError');
}

describe('profiles shipped in profiles/', () => {
  test.each(['smoke', 'steady', 'ramp'])('%s.json loads', async (name) => {
    const profile = await loadProfile(join(profilesDir, `${name}.json`));
    expect(profile.name).toBe(name);
  });

  test('smoke runs about 15 s at a low rate; steady about 60 s at 100 req/s; ramp ramps', async () => {
    const smoke = await loadProfile(join(profilesDir, 'smoke.json'));
    expect(arrivalDurationMs(smoke.arrival)).toBe(15_000);
    const steady = await loadProfile(join(profilesDir, 'steady.json'));
    expect(arrivalDurationMs(steady.arrival)).toBe(60_000);
    expect(steady.arrival.executor === 'constant-arrival-rate' && steady.arrival.rate).toBe(100);
    const ramp = await loadProfile(join(profilesDir, 'ramp.json'));
    expect(ramp.arrival.executor).toBe('ramping-arrival-rate');
  });
});

describe('validation errors name the field and the value', () => {
  test('a negative rate', () => {
    const error = issuesOf({ ...valid, arrival: { ...valid.arrival, rate: -3 } });
    expect(error.issues).toEqual([expect.objectContaining({ field: 'arrival.rate', value: -3 })]);
    expect(error.message).toContain('arrival.rate=-3');
  });

  test('a duration k6 would not read', () => {
    const error = issuesOf({ ...valid, arrival: { ...valid.arrival, duration: '30 seconds' } });
    expect(error.message).toContain('arrival.duration="30 seconds"');
  });

  test('a ratio above 1 and a missing field', () => {
    const { textBytes: _omitted, ...withoutText } = valid;
    const error = issuesOf({ ...withoutText, duplicateRatio: 1.5 });
    expect(error.issues.map((i) => i.field).sort()).toEqual(['duplicateRatio', 'textBytes']);
    expect(error.message).toContain('duplicateRatio=1.5');
    expect(error.message).toContain('textBytes=(missing)');
  });

  test('maxVUs below preAllocatedVUs, sizeMax below sizeMin', () => {
    const error = issuesOf({
      ...valid,
      arrival: { ...valid.arrival, preAllocatedVUs: 20, maxVUs: 5 },
      batches: { sizeMin: 9, sizeMax: 3 },
    });
    expect(error.message).toContain('arrival.maxVUs=5');
    expect(error.message).toContain('batches.sizeMax=3');
  });

  test('an unknown executor and an unknown key', () => {
    expect(issuesOf({ ...valid, arrival: { ...valid.arrival, executor: 'constant-vus' } }).message).toContain(
      'arrival.executor="constant-vus"',
    );
    expect(issuesOf({ ...valid, duplicateRate: 0.1 }).message).toContain('duplicateRate=0.1');
  });

  test('a bad threshold names the metric and the expression', () => {
    const error = issuesOf({ ...valid, thresholds: { http_req_duration: ['p(95)<250', 'p95 < 250'] } });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.field).toBe('thresholds.http_req_duration.1');
    expect(error.message).toContain('"p95 < 250"');
    expect(issuesOf({ ...valid, thresholds: { http_req_failed: ['p(95)<1'] } }).message).toMatch(
      /thresholds\.http_req_failed\.0="p\(95\)<1".*does not apply to a rate/,
    );
  });

  test('a file that is not JSON names the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'load-profile-'));
    try {
      const path = join(dir, 'broken.json');
      await writeFile(path, '{ "name": ');
      await expect(loadProfile(path)).rejects.toThrow(/broken\.json.*not JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
