import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { EventType, KAFKA_MESSAGE_MAX_BYTES, type BatchReady } from '@chaos-lab/contracts';
import { HistoryRecorder } from '../history/history.js';
import { checkOutputsFitBroker, outputsFitBroker } from './outputs-fit-broker.js';
import { correctRun } from './test-support.js';

/** A batch.ready of the contract's maximum: 10,000 essays with 40-character file names. */
function maximumReady(): BatchReady {
  return {
    event_id: '00000000-0000-4000-8000-000000000001',
    event_type: EventType.BatchReady,
    correlation_id: 'c',
    occurred_at: '2026-01-01T00:00:00Z',
    data: {
      batch_id: 'max',
      essays: Array.from({ length: 10_000 }, (_, i) => ({
        essay_id: `essay-${String(i).padStart(5, '0')}`,
        text_storage_id: `text-${i.toString(36).padStart(8, '0')}-${(i * 7919).toString(16).padStart(8, '0')}`,
        original_file_name: `student-${String(i).padStart(5, '0')}-essay-final-version-1.docx`,
      })),
      validation_failures: [],
    },
  };
}

describe('outputs-fit-broker', () => {
  it('accepts outputs within the limit, and histories recorded without sizes', () => {
    const lab = correctRun();
    expect(outputsFitBroker(lab.input)).toMatchObject({ valid: true, errorCount: 0 });
    const h = new HistoryRecorder();
    h.observeMessage({ topic: 'ready', partition: 0, offset: '0', value: 'x'.repeat(KAFKA_MESSAGE_MAX_BYTES) });
    const v = checkOutputsFitBroker({ ...lab.input, history: h.entries });
    expect(v).toMatchObject({ valid: true, stats: { measured: 1, largestUncompressedBytes: KAFKA_MESSAGE_MAX_BYTES } });
    expect(v.stats.largestBytes).toBeLessThan(KAFKA_MESSAGE_MAX_BYTES / 100);
  });

  it('measures a compressible output compressed: a maximum-size batch.ready over the limit as JSON fits', () => {
    const lab = correctRun();
    const ready = maximumReady();
    const value = JSON.stringify(ready);
    expect(value.length).toBeGreaterThan(KAFKA_MESSAGE_MAX_BYTES);
    const h = new HistoryRecorder();
    h.observeMessage({ topic: 'ready', partition: 0, offset: '0', value });
    const v = checkOutputsFitBroker({ ...lab.input, history: h.entries });
    expect(v).toMatchObject({ valid: true, errorCount: 0, stats: { measured: 1 } });
    // Measured from the parsed event (its fields in the schema's order): within 1% of the value compressed.
    expect(Math.abs(v.stats.largestBytes! / gzipSync(value).length - 1)).toBeLessThan(0.01);
  });

  it('counts the key, and for a parsed event whatever its compact JSON lacks, uncompressed', () => {
    const lab = correctRun();
    const ready = maximumReady();
    const compact = Buffer.byteLength(JSON.stringify(ready));
    const h = new HistoryRecorder();
    // As the lab's observer records it: the parsed event, and the message's value plus key bytes.
    h.observe({ topic: 'ready', partition: 0, offset: '0', event: ready, bytes: compact + 3 });
    const fits = checkOutputsFitBroker({ ...lab.input, history: h.entries });
    expect(fits.stats.largestBytes).toBe(gzipSync(JSON.stringify(ready)).length + 3);
    const h2 = new HistoryRecorder();
    h2.observe({ topic: 'ready', partition: 0, offset: '0', event: ready, bytes: compact + KAFKA_MESSAGE_MAX_BYTES });
    const over = checkOutputsFitBroker({ ...lab.input, history: h2.entries });
    expect(over.valid).toBe(false);
    expect(over.firstError?.message).toMatch(
      /^batch\.ready\.v1 of batch max \(ready\/0@0\) is \d+ bytes gzip-compressed/,
    );
  });

  it('names an incompressible output a real broker would refuse', () => {
    const lab = correctRun();
    // Base64 of random bytes: 6 bits of entropy per character, so gzip leaves about 3/4 of it.
    const big = randomBytes(Math.round(KAFKA_MESSAGE_MAX_BYTES * 1.1)).toString('base64');
    expect(gzipSync(big).length).toBeGreaterThan(KAFKA_MESSAGE_MAX_BYTES);
    const h = new HistoryRecorder();
    h.observeMessage({ topic: 'ready', partition: 2, offset: '7', value: big });
    const v = checkOutputsFitBroker({ ...lab.input, history: h.entries });
    expect(v.valid).toBe(false);
    expect(v.firstError).toMatchObject({
      message: `an unparsable output (ready/2@7) is ${gzipSync(big).length} bytes gzip-compressed (${big.length} uncompressed), over the ${KAFKA_MESSAGE_MAX_BYTES} bytes a real broker accepts (message.max.bytes)`,
      bytes: gzipSync(big).length,
      uncompressedBytes: big.length,
      limit: KAFKA_MESSAGE_MAX_BYTES,
    });
  });
});
