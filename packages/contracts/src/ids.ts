/**
 * Deterministic event ids. An event the coordinator emits has an id derived
 * from what it is about, so a retried or redelivered step produces the same id
 * and a consumer can tell a duplicate delivery from a second event.
 */
import { v5 as uuidv5 } from 'uuid';

/** Namespace for every id the coordinator derives (a fixed random UUID). */
export const COORDINATOR_NAMESPACE = '6f1c2b7e-3a55-4d0b-9a0e-3f1f0b8c2d41';

export function derivedEventId(...parts: string[]): string {
  return uuidv5(parts.join('\u001f'), COORDINATOR_NAMESPACE);
}

export const eventIds = {
  slotAssigned: (batchId: string, textStorageId: string) => derivedEventId('assigned', batchId, textStorageId),
  excess: (batchId: string, textStorageId: string) => derivedEventId('excess', batchId, textStorageId),
  batchReady: (batchId: string) => derivedEventId('ready', batchId),
  batchTimedOut: (batchId: string) => derivedEventId('timed_out', batchId),
  deadLetter: (topic: string, partition: number, offset: string) =>
    derivedEventId('dead_letter', topic, String(partition), offset),
  /** The dead letter of a parked input whose source position is unknown (parked by a coordinator before v6). */
  orphan: (batchId: string, kind: 'content' | 'failure', inputKey: string) =>
    derivedEventId('orphan', batchId, kind, inputKey),
};
