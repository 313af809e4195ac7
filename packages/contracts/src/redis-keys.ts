/**
 * Redis key layout. Every key of one batch carries the same hash tag
 * (`{b:<batch_id>}`), so all of them hash to one Redis Cluster slot and a Lua
 * script may touch them together.
 *
 * - `meta`   hash: `expected`, `settled`, `status` (open | ready | timed_out)
 * - `free`   set of essay ids not yet settled
 * - `assign` hash: text_storage_id → essay_id
 * - `failed` hash: original_file_name → essay_id (slots settled by a validation failure)
 * - `excess` hash: text_storage_id → reason, for contents reported as excess
 */
export interface BatchKeys {
  readonly meta: string;
  readonly free: string;
  readonly assign: string;
  readonly failed: string;
  readonly excess: string;
}

export function batchKeys(batchId: string, prefix = 'bc:'): BatchKeys {
  const tag = `${prefix}{b:${batchId}}`;
  return {
    meta: `${tag}:meta`,
    free: `${tag}:free`,
    assign: `${tag}:assign`,
    failed: `${tag}:failed`,
    excess: `${tag}:excess`,
  };
}

/** Keys in the order every coordinator Lua script expects them. */
export function batchKeyList(k: BatchKeys): string[] {
  return [k.meta, k.free, k.assign, k.failed, k.excess];
}

/** The hash tag of a key, as Redis Cluster computes it (text between the first `{` and the next `}`). */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}
