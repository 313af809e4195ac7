import { randomUUID } from 'node:crypto';
import { EventType } from '@chaos-lab/contracts';

/** The JSON of an input event as a producer sends it: a fresh id, correlation `c`, now, and `data` as given (for tests). */
export const envelope = (type: string, data: unknown): string =>
  JSON.stringify({
    event_id: randomUUID(),
    event_type: type,
    correlation_id: 'c',
    occurred_at: new Date().toISOString(),
    data,
  });

/** A fetched Kafka message holding the registration of batch `b<offset>` (one essay), as `eachBatch` gets it. */
export const registrationMessage = (offset: number) => ({
  offset: String(offset),
  key: Buffer.from(`b${offset}`),
  value: Buffer.from(envelope(EventType.BatchRegistered, { batch_id: `b${offset}`, essay_ids: ['e1'] })),
  timestamp: '0',
  attributes: 0,
  headers: {},
});
