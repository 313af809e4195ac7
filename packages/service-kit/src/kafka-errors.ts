/**
 * kafkajs marks each error retriable or not, and when its own retries run out it throws a non-retriable
 * wrapper whose `cause` is the retriable error: so an error is retriable when any error on its cause chain
 * says so. A broker's lasting refusal (MESSAGE_TOO_LARGE, INVALID_RECORD, …) is retriable nowhere.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if ((e as { retriable?: unknown }).retriable === true) return true;
  }
  return false;
}
