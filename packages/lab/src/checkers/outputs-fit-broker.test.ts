import { describe, expect, it } from 'vitest';
import { KAFKA_MESSAGE_MAX_BYTES } from '@chaos-lab/contracts';
import { HistoryRecorder } from '../history/history.js';
import { checkOutputsFitBroker, outputsFitBroker } from './outputs-fit-broker.js';
import { correctRun } from './test-support.js';

describe('outputs-fit-broker', () => {
  it('accepts outputs within the limit, and histories recorded without sizes', () => {
    const lab = correctRun();
    expect(outputsFitBroker(lab.input)).toMatchObject({ valid: true, errorCount: 0 });
    const h = new HistoryRecorder();
    h.observeMessage({ topic: 'ready', partition: 0, offset: '0', value: 'x'.repeat(KAFKA_MESSAGE_MAX_BYTES) });
    const v = checkOutputsFitBroker({ ...lab.input, history: h.entries });
    expect(v).toMatchObject({ valid: true, stats: { measured: 1, largestBytes: KAFKA_MESSAGE_MAX_BYTES } });
  });

  it('names an output a real broker would refuse', () => {
    const lab = correctRun();
    const h = new HistoryRecorder();
    h.observeMessage({ topic: 'ready', partition: 2, offset: '7', value: 'x'.repeat(KAFKA_MESSAGE_MAX_BYTES + 1) });
    const v = checkOutputsFitBroker({ ...lab.input, history: h.entries });
    expect(v.valid).toBe(false);
    expect(v.firstError?.message).toBe(
      `an unparsable output (ready/2@7) is ${KAFKA_MESSAGE_MAX_BYTES + 1} bytes, over the ${KAFKA_MESSAGE_MAX_BYTES} bytes a real broker accepts (message.max.bytes)`,
    );
  });
});
