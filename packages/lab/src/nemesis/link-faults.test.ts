/**
 * How the link faults judge their evidence: a probe sent through the faulted
 * proxy and the affected instances' own calls to the store over the window.
 */
import { describe, expect, it } from 'vitest';
import { linkDownTookEffect, toxicTookEffect, type DependencyDelta, type LinkToxicSpec } from './link-faults.js';
import type { ToxicSpec } from '../links/links.js';
import type { ProbeResult } from './probes.js';

const toxic = (t: ToxicSpec, link: 'redis' | 'postgres' = 'redis'): LinkToxicSpec => ({
  kind: 'link-toxic',
  link,
  target: 'coordinator-1',
  toxic: t,
});
const ok = (ms: number): ProbeResult => ({ ok: true, ms });
const failed: ProbeResult = { ok: false, ms: 1000, error: 'timeout' };
/** The instances' calls: none, unless told. */
const calls = (d: Partial<DependencyDelta> = {}): DependencyDelta => ({
  errors: 0,
  calls: 0,
  meanMs: 0,
  meanBeforeMs: 0,
  ...d,
});

describe('toxicTookEffect', () => {
  const latency = toxic({ type: 'latency', attributes: { latency: 200 } });

  it('latency: a probe at least 0.8 of the latency, or calls at least half of it on average', () => {
    expect(toxicTookEffect(latency, ok(160), calls())).toBe(true);
    expect(toxicTookEffect(latency, ok(159.9), calls())).toBe(false);
    // A failed probe is no evidence of latency.
    expect(toxicTookEffect(latency, { ok: false, ms: 5000 }, calls())).toBe(false);
    expect(toxicTookEffect(latency, ok(1), calls({ calls: 3, meanMs: 100 }))).toBe(true);
    expect(toxicTookEffect(latency, ok(1), calls({ calls: 3, meanMs: 99 }))).toBe(false);
    // A mean needs calls to mean anything.
    expect(toxicTookEffect(latency, ok(1), calls({ calls: 0, meanMs: 500 }))).toBe(false);
    // Errors are not latency.
    expect(toxicTookEffect(latency, ok(1), calls({ errors: 5 }))).toBe(false);
  });

  it('a probe counts only at toxicity 1: below, it meets the toxic by chance', () => {
    const partial = toxic({ type: 'latency', toxicity: 0.5, attributes: { latency: 200 } });
    expect(toxicTookEffect(partial, ok(500), calls())).toBe(false);
    expect(toxicTookEffect(partial, ok(500), calls({ calls: 1, meanMs: 100 }))).toBe(true);
    expect(
      toxicTookEffect(toxic({ type: 'latency', toxicity: 1, attributes: { latency: 200 } }), ok(500), calls()),
    ).toBe(true);
  });

  it('cutting toxics (timeout, reset_peer, limit_data): a failed probe, or an instance call that failed', () => {
    for (const type of ['timeout', 'reset_peer', 'limit_data'] as const) {
      const t = toxic({ type, attributes: {} });
      expect(toxicTookEffect(t, failed, calls()), type).toBe(true);
      expect(toxicTookEffect(t, ok(3), calls()), type).toBe(false);
      expect(toxicTookEffect(t, ok(3), calls({ errors: 1 })), type).toBe(true);
      // Slow calls are not a cut.
      expect(toxicTookEffect(t, ok(3), calls({ calls: 5, meanMs: 9000 })), type).toBe(false);
    }
  });

  it('slicer: a probe or calls delayed by twice the slice delay, calls by at least 20 ms', () => {
    const slicer = toxic({ type: 'slicer', attributes: { average_size: 1, delay: 5000 } });
    // delay is in µs: 5000 µs → 10 ms for the probe.
    expect(toxicTookEffect(slicer, ok(10), calls())).toBe(true);
    expect(toxicTookEffect(slicer, ok(9.9), calls())).toBe(false);
    // PostgreSQL's one-byte answer meets no delay: the instance's calls are the evidence (fuzz seed 18).
    expect(toxicTookEffect(slicer, ok(1), calls({ calls: 4, meanMs: 20 }))).toBe(true);
    expect(toxicTookEffect(slicer, ok(1), calls({ calls: 4, meanMs: 19.9 }))).toBe(false);
    const slow = toxic({ type: 'slicer', attributes: { delay: 50_000 } });
    expect(toxicTookEffect(slow, ok(1), calls({ calls: 4, meanMs: 99 }))).toBe(false);
    expect(toxicTookEffect(slow, ok(1), calls({ calls: 4, meanMs: 100 }))).toBe(true);
  });

  it('bandwidth: a 4 KB probe at half the rate’s time, calls twice slower than before, or errors', () => {
    // 4 KB at 2 KB/s: 2000 ms; half of it counts.
    const bw = toxic({ type: 'bandwidth', attributes: { rate: 2 } }, 'postgres');
    expect(toxicTookEffect(bw, ok(1000), calls())).toBe(true);
    expect(toxicTookEffect(bw, ok(999), calls())).toBe(false);
    expect(toxicTookEffect(bw, ok(1), calls({ calls: 2, meanMs: 60, meanBeforeMs: 30 }))).toBe(true);
    expect(toxicTookEffect(bw, ok(1), calls({ calls: 2, meanMs: 59, meanBeforeMs: 30 }))).toBe(false);
    // Never less than 20 ms, however fast the calls were before.
    expect(toxicTookEffect(bw, ok(1), calls({ calls: 2, meanMs: 19, meanBeforeMs: 1 }))).toBe(false);
    expect(toxicTookEffect(bw, ok(1), calls({ calls: 2, meanMs: 20, meanBeforeMs: 1 }))).toBe(true);
    expect(toxicTookEffect(bw, ok(1), calls({ errors: 1 }))).toBe(true);
  });

  it('slow_close: an answered probe, or a failed call', () => {
    const t = toxic({ type: 'slow_close', attributes: { delay: 100 } });
    expect(toxicTookEffect(t, ok(1), calls())).toBe(true);
    expect(toxicTookEffect(t, failed, calls())).toBe(false);
    expect(toxicTookEffect(t, failed, calls({ errors: 1 }))).toBe(true);
  });
});

describe('linkDownTookEffect', () => {
  it('a refused probe, or an instance call that failed; an answered probe and no errors is no effect', () => {
    expect(linkDownTookEffect(failed, calls())).toBe(true);
    expect(linkDownTookEffect(ok(2), calls({ errors: 1 }))).toBe(true);
    expect(linkDownTookEffect(ok(2), calls({ calls: 10, meanMs: 5000 }))).toBe(false);
    expect(linkDownTookEffect(ok(2), calls())).toBe(false);
  });
});
