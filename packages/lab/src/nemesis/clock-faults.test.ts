import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputTopics } from '@chaos-lab/contracts';
import { clockSkew, observedClockSkew, skewMatches, SKEW_TOLERANCE_MS } from './clock-faults.js';
import type { NemesisContext } from './types.js';
import { CoordinatorInstance, libfaketimeAvailable } from '../instances/instances.js';
import { startCoordinatorTestBed } from '../instances/test-bed.js';
import { capabilitiesOf } from '../environment/capabilities.js';
import { InvalidArgumentError, LabError } from '../errors.js';

describe('skewMatches', () => {
  it('takes a skew within the tolerance of the offset, either way, and no reading as no effect', () => {
    expect(SKEW_TOLERANCE_MS).toBe(1000);
    expect(skewMatches(30_000, 30_000)).toBe(true);
    expect(skewMatches(30_000 + SKEW_TOLERANCE_MS, 30_000)).toBe(true);
    expect(skewMatches(30_000 - SKEW_TOLERANCE_MS, 30_000)).toBe(true);
    expect(skewMatches(30_000 + SKEW_TOLERANCE_MS + 1, 30_000)).toBe(false);
    expect(skewMatches(30_000 - SKEW_TOLERANCE_MS - 1, 30_000)).toBe(false);
    // Backwards: the sign counts.
    expect(skewMatches(-5_000, -5_000)).toBe(true);
    expect(skewMatches(5_000, -5_000)).toBe(false);
    // An unmoved clock is no skew; it is what "restored" looks for.
    expect(skewMatches(0, 5_000)).toBe(false);
    expect(skewMatches(400, 0)).toBe(true);
    // The instance did not answer.
    expect(skewMatches(undefined, 5_000)).toBe(false);
    expect(skewMatches(undefined, 0)).toBe(false);
  });
});

describe('clock-skew', () => {
  it('is planned on every provider: a plan depends on the seed and the provider, not on the machine', () => {
    for (const provider of ['local', 'docker'] as const)
      expect(
        clockSkew.unsupported?.(
          { kind: 'clock-skew', target: 'coordinator-1', offsetMs: 5000 },
          capabilitiesOf(provider),
        ),
      ).toBeUndefined();
  });

  it('refuses an offset that is not whole milliseconds, and an instance not started under libfaketime', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-clock-'));
    try {
      const x = new CoordinatorInstance(0, 'coordinator-1', 1, { entry: 'unused', env: {}, logDir: dir });
      await expect(x.setClockOffset(1.5)).rejects.toThrow(InvalidArgumentError);
      await expect(x.setClockOffset(400 * 24 * 3600 * 1000)).rejects.toThrow(/^offsetMs/);
      await expect(x.setClockOffset(5000)).rejects.toThrow(LabError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe.runIf(libfaketimeAvailable())('against a real coordinator', () => {
    it('moves the instance’s wall clock by the offset, keeps it across a restart, and sets it true again', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lab-clock-'));
      const logDir = join(dir, 'logs');
      try {
        await using bed = await startCoordinatorTestBed({ logDir, name: 'clock', clockControl: true });
        const { env, instances } = bed;
        const x = instances.get(0);
        expect(await readFile(x.clockFile, 'utf8')).toBe('+0\n');
        expect(Math.abs((await observedClockSkew(x))!)).toBeLessThanOrEqual(SKEW_TOLERANCE_MS);
        const ctx = { env, instances, links: env.links, inputTopics: inputTopics(bed.topics) } as NemesisContext;

        // Back an hour: Node must survive its wall clock stepping back (its timers run on the monotonic clock).
        const back = await clockSkew.start({ kind: 'clock-skew', target: x.id, offsetMs: -3_600_000 }, ctx);
        expect(Math.abs((await observedClockSkew(x))! + 3_600_000)).toBeLessThanOrEqual(SKEW_TOLERANCE_MS);
        const evidence = await back.end();
        expect(evidence.tookEffect).toBe(true);
        expect(Math.abs((evidence.detail.skewDuringMs as number) + 3_600_000)).toBeLessThanOrEqual(SKEW_TOLERANCE_MS);
        expect(evidence.detail.restored).toBe(true);
        expect(await readFile(x.clockFile, 'utf8')).toBe('+0\n');

        // Forward, by a fraction of a second too; the offset outlives the process, as a machine's clock would.
        await x.setClockOffset(12_500);
        await x.restart();
        expect(Math.abs((await observedClockSkew(x))! - 12_500)).toBeLessThanOrEqual(SKEW_TOLERANCE_MS);
        await x.setClockOffset(0);
        const fwd = await clockSkew.start({ kind: 'clock-skew', target: x.id, offsetMs: 7000 }, ctx);
        const shown = await fwd.end();
        expect(shown).toMatchObject({ tookEffect: true, detail: { offsetMs: 7000, restored: true } });
        expect(x.running).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
});
