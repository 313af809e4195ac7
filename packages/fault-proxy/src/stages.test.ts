/** Pure parts of the pipeline and the input parsing, on hand-picked values. */
import { describe, expect, it } from 'vitest';
import { listenMatches, parseAddress } from './address.js';
import { BadRequestError } from './errors.js';
import { sliceBounds } from './stages.js';
import { parseToxicCreate, parseToxicUpdate } from './toxic.js';

/** A deterministic stand-in for Math.random (xorshift), so failures replay. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('sliceBounds', () => {
  it('covers the data exactly, in order, with slices near the average size', () => {
    for (const [length, average, variation] of [
      [1, 1, 0],
      [100, 10, 0],
      [1000, 10, 4],
      [65_536, 100, 50],
      [37, 5, 20], // variation above the average: still terminates, still covers
    ] as const) {
      const bounds = sliceBounds(length, average, variation, seeded(length));
      expect(bounds[0]?.[0]).toBe(0);
      expect(bounds.at(-1)?.[1]).toBe(length);
      for (let i = 0; i < bounds.length; i++) {
        const [start, end] = bounds[i] ?? [0, 0];
        expect(end).toBeGreaterThan(start);
        if (i > 0) expect(start).toBe(bounds[i - 1]?.[1]);
        expect(end - start).toBeLessThanOrEqual(average + variation);
      }
    }
  });

  it('leaves a chunk smaller than the average whole', () => {
    expect(sliceBounds(7, 10, 2, seeded(1))).toEqual([[0, 7]]);
    expect(sliceBounds(0, 10, 2, seeded(1))).toEqual([]);
  });
});

describe('toxic bodies', () => {
  const none = () => false;

  it('fills in Toxiproxy defaults', () => {
    expect(parseToxicCreate('p', { type: 'slicer' }, none)).toEqual({
      name: 'slicer_downstream',
      type: 'slicer',
      stream: 'downstream',
      toxicity: 1,
      attributes: { average_size: 0, size_variation: 0, delay: 0 },
    });
  });

  it('checks in Toxiproxy order: stream before type before duplicate before attributes', () => {
    const taken = () => true;
    expect(() => parseToxicCreate('p', { type: 'x', stream: 'y' }, taken)).toThrow('stream was invalid');
    expect(() => parseToxicCreate('p', { type: 'x' }, taken)).toThrow('invalid toxic type');
    expect(() => parseToxicCreate('p', { type: 'latency', attributes: { latency: 'x' } }, taken)).toThrow(
      'toxic already exists',
    );
  });

  it('names the field and the value of a bad attribute', () => {
    try {
      parseToxicCreate('p', { type: 'latency', attributes: { jitter: 1.5 } }, none);
      expect.fail('accepted a fractional jitter');
    } catch (err) {
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err).toMatchObject({ status: 400, field: 'attributes.jitter', value: 1.5 });
      expect((err as Error).message).toBe(
        'bad request body: json: cannot unmarshal number 1.5 into Go struct field LatencyToxic.attributes.jitter of type int64',
      );
    }
  });

  it('updates merge attributes and toxicity only', () => {
    const toxic = parseToxicCreate('p', { type: 'latency', attributes: { latency: 10, jitter: 2 } }, none);
    expect(parseToxicUpdate(toxic, { attributes: { jitter: 3 }, type: 'bandwidth', stream: 'upstream' })).toEqual({
      ...toxic,
      attributes: { latency: 10, jitter: 3 },
    });
    expect(parseToxicUpdate(toxic, { toxicity: 0 }).toxicity).toBe(0);
  });
});

describe('addresses', () => {
  it('parses host:port forms and rejects the rest naming the field', () => {
    expect(parseAddress('127.0.0.1:6379', 'upstream')).toEqual({ host: '127.0.0.1', port: 6379 });
    expect(parseAddress('[::1]:5432', 'upstream')).toEqual({ host: '::1', port: 5432 });
    expect(parseAddress(':8666', 'listen')).toEqual({ host: '', port: 8666 });
    expect(parseAddress('', 'listen')).toEqual({ host: '', port: 0 });
    expect(() => parseAddress('redis', 'upstream')).toThrow('upstream: address redis: missing port in address');
    expect(() => parseAddress('redis:0', 'upstream')).toThrow('invalid port');
    expect(() => parseAddress('localhost:70000', 'listen')).toThrow('invalid port');
  });

  it('treats port 0 as any port and localhost as either loopback', () => {
    const bound = { host: '127.0.0.1', port: 41_000 };
    expect(listenMatches({ host: '127.0.0.1', port: 0 }, bound, '127.0.0.1')).toBe(true);
    expect(listenMatches({ host: 'localhost', port: 41_000 }, bound, '127.0.0.1')).toBe(true);
    expect(listenMatches({ host: '', port: 41_000 }, bound, '127.0.0.1')).toBe(true);
    expect(listenMatches({ host: '127.0.0.1', port: 41_001 }, bound, '127.0.0.1')).toBe(false);
    expect(listenMatches({ host: '0.0.0.0', port: 41_000 }, bound, '127.0.0.1')).toBe(false);
  });
});
