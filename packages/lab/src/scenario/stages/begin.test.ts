import { describe, expect, it } from 'vitest';
import { EventType } from '@chaos-lab/contracts';
import type { ObservedMessage } from '../observer.js';
import { belongsToSeed } from './begin.js';

const msg = (topic: string, partition: number, offset: string, event?: unknown) =>
  ({ topic, partition, offset, event }) as unknown as ObservedMessage;

describe('which outputs belong to a seed', () => {
  const outputStart = new Map([['out/0', 10n]]);
  const inputStart = new Map([['in/1', 5n]]);

  it('drops outputs from before the seed began', () => {
    expect(belongsToSeed(msg('out', 0, '9'), 's3-', outputStart, inputStart)).toBe(false);
    expect(belongsToSeed(msg('out', 0, '10'), 's3-', outputStart, inputStart)).toBe(true); // unparseable: kept
  });

  it('keeps the outputs about the seed’s own batches', () => {
    const ready = (batch_id: string) => ({ event_type: EventType.BatchReady, data: { batch_id } });
    expect(belongsToSeed(msg('out', 0, '11', ready('s3-b1')), 's3-', outputStart, inputStart)).toBe(true);
    expect(belongsToSeed(msg('out', 0, '11', ready('s30-b1')), 's3-', outputStart, inputStart)).toBe(false);
  });

  it('keeps a dead letter of an input published during the seed', () => {
    const dl = (source_offset: string) => ({
      event_type: EventType.DeadLetter,
      data: { source_topic: 'in', source_partition: 1, source_offset },
    });
    expect(belongsToSeed(msg('out', 0, '11', dl('5')), 's3-', outputStart, inputStart)).toBe(true);
    expect(belongsToSeed(msg('out', 0, '11', dl('4')), 's3-', outputStart, inputStart)).toBe(false);
    expect(belongsToSeed(msg('out', 0, '11', dl('?')), 's3-', outputStart, inputStart)).toBe(true);
  });
});
