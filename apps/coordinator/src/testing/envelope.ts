import { randomUUID } from 'node:crypto';

/** The JSON of an input event as a producer sends it: a fresh id, correlation `c`, now, and `data` as given (for tests). */
export const envelope = (type: string, data: unknown): string =>
  JSON.stringify({
    event_id: randomUUID(),
    event_type: type,
    correlation_id: 'c',
    occurred_at: new Date().toISOString(),
    data,
  });
