/**
 * The final read: what Postgres and Redis hold once the run has quiesced,
 * shaped for the checkers. Postgres is read in one repeatable-read
 * transaction so the tables agree with each other.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { batchKeys } from '@chaos-lab/contracts';
import type { FinalState, RedisBatch } from '@chaos-lab/model';

/**
 * `batchIdPrefix` limits the read to the batches whose id starts with it (the
 * seeds of a suite share the stores; each seed's ids carry its own prefix).
 */
export async function readFinalState(
  postgresUrl: string,
  redisUrl: string,
  keyPrefix = 'bc:',
  batchIdPrefix = '',
): Promise<FinalState> {
  const postgres = await readPostgresState(postgresUrl, batchIdPrefix);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const batches: RedisBatch[] = [];
    const metaKeys: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${keyPrefix}{b:${globEscape(batchIdPrefix)}*}:meta`,
        'COUNT',
        1000,
      );
      cursor = next;
      metaKeys.push(...keys);
    } while (cursor !== '0');
    for (const metaKey of metaKeys.sort()) {
      const m = /\{b:(.*)\}:meta$/.exec(metaKey);
      if (!m) continue;
      const batchId = m[1]!;
      const k = batchKeys(batchId, keyPrefix);
      const [meta, free, assign, failed, excess] = await Promise.all([
        redis.hgetall(k.meta),
        redis.smembers(k.free),
        redis.hgetall(k.assign),
        redis.hgetall(k.failed),
        redis.hgetall(k.excess),
      ]);
      batches.push({
        batch_id: batchId,
        status: meta.status ?? '',
        free: free.sort(),
        assign,
        failed,
        excess: Object.keys(excess).sort(),
      });
    }
    return { postgres, redis: { batches } };
  } finally {
    redis.disconnect();
  }
}

/**
 * Postgres alone, in one repeatable-read transaction: the final read's half,
 * and the snapshot the online checkers read while a run goes on.
 * `statementTimeoutMs` bounds each query (a snapshot must not queue behind a
 * fault); none by default.
 */
export async function readPostgresState(
  postgresUrl: string,
  batchIdPrefix = '',
  statementTimeoutMs?: number,
): Promise<FinalState['postgres']> {
  const client = new pg.Client({
    connectionString: postgresUrl,
    ...(statementTimeoutMs !== undefined && {
      statement_timeout: statementTimeoutMs,
      connectionTimeoutMillis: statementTimeoutMs,
    }),
  });
  // A server that goes away mid-read fails the read, not the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const mine = [batchIdPrefix];
    const batches = await client.query(
      `SELECT batch_id, expected_count, status,
              to_char(deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS deadline,
              to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS closed_at
         FROM batches WHERE starts_with(batch_id, $1) ORDER BY batch_id`,
      mine,
    );
    const slots = await client.query(
      // upload_id through to_jsonb: absent (null) on a schema from before failures had an upload (an older build).
      `SELECT batch_id, essay_id, state, text_storage_id, original_file_name, to_jsonb(s) ->> 'upload_id' AS upload_id,
              (extract(epoch FROM now() - settled_at) * 1000)::float8 AS settled_ms_ago
         FROM slots s WHERE starts_with(batch_id, $1) ORDER BY batch_id, essay_id`,
      mine,
    );
    const excess = await client.query(
      'SELECT batch_id, text_storage_id, reason FROM excess_contents WHERE starts_with(batch_id, $1) ORDER BY 1, 2',
      mine,
    );
    const pending = await client.query(
      `SELECT batch_id, CASE WHEN kind = 'content' THEN input_key END AS text_storage_id, original_file_name,
              to_jsonb(p) ->> 'upload_id' AS upload_id,
              (extract(epoch FROM now() - received_at) * 1000)::float8 AS parked_ms
         FROM pending_inputs p WHERE starts_with(batch_id, $1) ORDER BY 1, 2`,
      mine,
    );
    await client.query('COMMIT');
    return { batches: batches.rows, slots: slots.rows, excess: excess.rows, pending: pending.rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A literal for a Redis glob pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
