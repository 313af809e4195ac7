/**
 * `stores-agree`: the Redis coordination cache never contradicts Postgres.
 *
 * Redis may lack a batch (the cache is rebuilt from Postgres on demand), so
 * only batches present in Redis are compared. For those, every field is
 * derivable from Postgres and must equal it: status, the free set, the assign
 * map (text_storage_id → essay_id), the failed map (original_file_name →
 * essay_id) and, when the reader provides it, the excess set. One error per
 * disagreeing batch, naming the first differing field (all differing fields
 * are listed in the error data).
 */
import { failureIdentity } from '@chaos-lab/contracts';
import { digestPostgres, list, sortedUnique } from './digest.js';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const STORES_AGREE = 'stores-agree';

interface FieldDiff {
  field: string;
  message: string;
}

/** First difference between two string→string maps, described from Redis' point of view. */
function mapDiff(
  field: string,
  what: string,
  redis: Record<string, string>,
  pg: Map<string, string>,
): FieldDiff | undefined {
  for (const k of sortedUnique([...Object.keys(redis), ...pg.keys()])) {
    const r = Object.hasOwn(redis, k) ? redis[k] : undefined;
    const p = pg.get(k);
    if (r === p) continue;
    const message =
      r === undefined
        ? `Postgres maps ${what} ${k} → ${p} but Redis ${field} has no entry for it`
        : p === undefined
          ? `Redis ${field} maps ${what} ${k} → ${r} but Postgres has no such ${field === 'assign' ? 'assignment' : 'failed slot'}`
          : `Redis ${field} maps ${what} ${k} → ${r} but Postgres has ${k} → ${p}`;
    return { field, message };
  }
  return undefined;
}

function setDiff(field: string, what: string, redis: readonly string[], pg: readonly string[]): FieldDiff | undefined {
  const r = new Set(redis);
  const p = new Set(pg);
  const extra = sortedUnique(redis).filter((x) => !p.has(x));
  const missing = sortedUnique(pg).filter((x) => !r.has(x));
  if (extra.length > 0)
    return { field, message: `Redis ${field} set has ${what} ${list(extra)} which Postgres does not` };
  if (missing.length > 0)
    return { field, message: `Redis ${field} set lacks ${what} ${list(missing)} which Postgres has` };
  return undefined;
}

export function checkStoresAgree({ final }: CheckerInput): Verdict {
  const v = new VerdictBuilder(STORES_AGREE);
  const pg = digestPostgres(final);
  let agreeing = 0;

  for (const rb of final.redis.batches) {
    const b = rb.batch_id;
    const row = pg.batches.get(b);
    if (row === undefined) {
      v.error(`batch ${b} is in Redis but not in Postgres`, { batch_id: b, field: 'batch' });
      continue;
    }
    const slots = pg.slots.get(b) ?? [];
    const assign = new Map<string, string>();
    const failed = new Map<string, string>();
    for (const s of slots) {
      if (s.state === 'assigned' && s.text_storage_id !== null) assign.set(s.text_storage_id, s.essay_id);
      if (s.state === 'failed' && s.original_file_name !== null)
        failed.set(failureIdentity({ ...s, original_file_name: s.original_file_name }), s.essay_id);
    }
    const diffs: FieldDiff[] = [];
    if (rb.status !== row.status)
      diffs.push({ field: 'status', message: `status is ${rb.status} in Redis but ${row.status} in Postgres` });
    const free = setDiff(
      'free',
      'essay',
      rb.free,
      slots.filter((s) => s.state === 'free').map((s) => s.essay_id),
    );
    if (free) diffs.push(free);
    const a = mapDiff('assign', 'content', rb.assign, assign);
    if (a) diffs.push(a);
    const f = mapDiff('failed', 'failure', rb.failed, failed);
    if (f) diffs.push(f);
    if (rb.excess !== undefined) {
      const x = setDiff(
        'excess',
        'content',
        rb.excess,
        final.postgres.excess.filter((e) => e.batch_id === b).map((e) => e.text_storage_id),
      );
      if (x) diffs.push(x);
    }
    const [first] = diffs;
    if (first === undefined) {
      agreeing++;
      continue;
    }
    v.error(`batch ${b}: ${first.message}`, {
      batch_id: b,
      field: first.field,
      fields: diffs.map((d) => d.field),
      differences: diffs.map((d) => d.message),
    });
  }

  v.stat('redisBatches', final.redis.batches.length);
  v.stat('postgresBatches', pg.batches.size);
  v.stat('agreeing', agreeing);
  const cached = new Set(final.redis.batches.map((r) => r.batch_id));
  v.stat('notCached', [...pg.batches.keys()].filter((b) => !cached.has(b)).length);
  return v.build();
}

export const storesAgree = defineChecker(STORES_AGREE, checkStoresAgree, {
  description: 'the Redis coordination cache never contradicts Postgres',
});
