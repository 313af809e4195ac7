/**
 * The coordinator's domain logic: what each input event does.
 *
 * The cache (Redis) proposes, the store (Postgres) disposes. Every step asks
 * the cache for a slot with one atomic script, then writes the result to the
 * store under the batch's lock; the store re-checks the proposal against the
 * truth and answers `conflict` when the cache was stale (e.g. rebuilt from an
 * older snapshot after Redis lost its data). On a conflict the cache entry is
 * dropped and rebuilt from the store, and the step is tried again. So Redis
 * may lose anything at any time without a duplicate or a loss: the
 * constraints in Postgres are the last line, and every step is idempotent per
 * (batch_id, text_storage_id) for content and per (batch_id, failure identity)
 * for validation failures — a redelivered event repeats the same answer.
 */
import type { Logger } from 'pino';
import { StateConflictError, SweepError } from '../errors.js';
import {
  failureKey,
  type BatchStatus,
  type BatchStore,
  type ContentInput,
  type FailureInput,
  type Registration,
  type SettleItem,
  type SlotCache,
  type StoreWrite,
} from './ports.js';

/** How many times one step rebuilds the cache before giving up (retriably). */
const MAX_REBUILDS = 5;

export type Outcome = 'assigned' | 'excess' | 'parked' | 'registered' | 'failure_settled' | 'failure_excess';

/** An input of a fetched batch, for {@link Coordinator.settleMany}. */
export type SettleInput =
  | { readonly kind: 'content'; readonly input: ContentInput }
  | { readonly kind: 'failure'; readonly input: FailureInput };

export interface CoordinatorHooks {
  /** Called when a batch reaches a final state through this instance. */
  onBatchClosed?(batchId: string, status: 'ready' | 'timed_out'): void;
  /** Called when inputs parked for a batch that never came are dead-lettered. */
  onParkedExpired?(batchId: string, count: number): void;
  /**
   * Called once per input after its cache proposal and before its store write (a run settled together: once
   * per input, before the run's one transaction) — the test harness's `after-cache-before-store` crash point.
   */
  beforeStore?(): void;
}

export interface CoordinatorOptions {
  /**
   * How long an input may stay parked for a batch that is not registered before it is dead-lettered (with
   * `unregistered_batch_id`): the event that says so. The input stays parked: a registration that comes later
   * still gets it.
   */
  readonly parkedTtlMs: number;
  /** How long a parked input is kept after that dead letter, for a late registration, before it is dropped. */
  readonly parkedRetentionMs: number;
}

/** A day: far beyond any registration delayed by a failover, short enough that no parked input goes unannounced. */
export const DEFAULT_PARKED_TTL_MS = 86_400_000;
/** A week after the announcement. */
export const DEFAULT_PARKED_RETENTION_MS = 7 * 86_400_000;

export class Coordinator {
  constructor(
    private readonly cache: SlotCache,
    private readonly store: BatchStore,
    private readonly log: Logger,
    private readonly hooks: CoordinatorHooks = {},
    private readonly opts: CoordinatorOptions = {
      parkedTtlMs: DEFAULT_PARKED_TTL_MS,
      parkedRetentionMs: DEFAULT_PARKED_RETENTION_MS,
    },
  ) {}

  async registerBatch(r: Registration): Promise<Outcome> {
    const snapshot = await this.store.register(r);
    await this.cache.load(snapshot);
    await this.drainPending(r.batchId);
    return 'registered';
  }

  async provisionContent(c: ContentInput): Promise<Outcome> {
    for (let attempt = 0; attempt <= MAX_REBUILDS; attempt++) {
      const proposal = await this.cache.assign(c.batchId, c.textStorageId);
      let write: StoreWrite;
      switch (proposal.kind) {
        case 'missing': {
          if ((await this.rebuild(c.batchId)) === 'unregistered') {
            if ((await this.store.parkContent(c)) === 'parked') return 'parked';
          }
          continue;
        }
        case 'assigned':
          this.hooks.beforeStore?.();
          write = await this.store.recordAssignment(c, proposal.essayId);
          break;
        case 'excess':
          this.hooks.beforeStore?.();
          write = await this.store.recordExcess(c, proposal.reason);
          break;
      }
      if (write.kind === 'recorded') {
        // The proposal wrote the excess into Redis, but another instance may have dropped the entry since and
        // rebuilt it from a snapshot read before this commit: noted again after it, the excess survives that.
        if (proposal.kind === 'excess') await this.cache.noteExcess(c.batchId, c.textStorageId, proposal.reason);
        await this.settled(c.batchId, write);
        return proposal.kind;
      }
      await this.onConflict(c.batchId, write);
    }
    throw new StateConflictError(c.batchId, `content ${c.textStorageId} could not be settled`);
  }

  /** Settles a slot as failed, idempotently per failure identity ({@link failureKey}): upload (v2) or file name (v1). */
  async validationFailed(f: FailureInput): Promise<Outcome> {
    const identity = failureKey(f);
    for (let attempt = 0; attempt <= MAX_REBUILDS; attempt++) {
      const proposal = await this.cache.settleFailure(f.batchId, identity);
      let write: StoreWrite;
      switch (proposal.kind) {
        case 'missing': {
          if ((await this.rebuild(f.batchId)) === 'unregistered') {
            if ((await this.store.parkFailure(f)) === 'parked') return 'parked';
          }
          continue;
        }
        case 'settled':
          this.hooks.beforeStore?.();
          write = await this.store.recordFailure(f, proposal.essayId);
          break;
        case 'excess':
          this.hooks.beforeStore?.();
          write = await this.store.recordExcessFailure(f);
          break;
      }
      if (write.kind === 'recorded') {
        await this.settled(f.batchId, write);
        return proposal.kind === 'settled' ? 'failure_settled' : 'failure_excess';
      }
      await this.onConflict(f.batchId, write);
    }
    throw new StateConflictError(f.batchId, `validation failure ${identity} could not be settled`);
  }

  /**
   * Settles many inputs — a fetched batch — with one call to the cache (every batch's proposals in one round
   * trip) and one to the store (one transaction), then closes in the cache the batches that completed. Answers,
   * per input in order, its outcome, or undefined when this path did not settle it: the cache had no entry for
   * its batch (a rebuild, or parking, is the one-input path's work), the store found a conflict, or a call
   * failed. The caller then takes the one-input path ({@link provisionContent}, {@link validationFailed}) for
   * each of those, with its rebuilds and retries; every write is idempotent, so one this call made before
   * failing is found again there, not made twice.
   */
  async settleMany(inputs: readonly SettleInput[]): Promise<(Outcome | undefined)[]> {
    const out: (Outcome | undefined)[] = inputs.map(() => undefined);
    const byBatch = new Map<string, number[]>();
    inputs.forEach((x, i) => {
      const list = byBatch.get(x.input.batchId);
      if (list) list.push(i);
      else byBatch.set(x.input.batchId, [i]);
    });
    const batches = [...byBatch];
    try {
      const proposals = await this.cache.proposeMany(
        batches.map(([batchId, idx]) => ({
          batchId,
          inputs: idx.map((i) => {
            const x = inputs[i]!;
            return x.kind === 'content'
              ? { kind: 'content' as const, key: x.input.textStorageId }
              : { kind: 'failure' as const, key: failureKey(x.input) };
          }),
        })),
      );
      const items: { index: number; item: SettleItem }[] = [];
      batches.forEach(([, idx], b) =>
        idx.forEach((i, k) => {
          const p = proposals[b]![k]!;
          const x = inputs[i]!;
          if (p.kind === 'missing') return;
          if (x.kind === 'content')
            items.push({
              index: i,
              item:
                p.kind === 'assigned'
                  ? { op: 'assign', input: x.input, essayId: p.essayId }
                  : { op: 'excess', input: x.input, proposed: p.kind === 'excess' ? p.reason : 'no_free_slot' },
            });
          else
            items.push({
              index: i,
              item:
                p.kind === 'settled'
                  ? { op: 'failure', input: x.input, essayId: p.essayId }
                  : { op: 'excess_failure', input: x.input },
            });
        }),
      );
      if (items.length === 0) return out;
      for (let k = 0; k < items.length; k++) this.hooks.beforeStore?.();
      const writes = await this.store.settleMany(items.map((x) => x.item));
      const after = new Map<string, { completed: boolean; status: BatchStatus; conflict?: string }>();
      const recorded: Outcome[] = [];
      for (const [k, { index, item }] of items.entries()) {
        const w = writes[k]!;
        const batchId = item.input.batchId;
        const seen = after.get(batchId);
        if (w.kind !== 'recorded') {
          const detail = w.kind === 'conflict' ? w.detail : 'batch not registered in postgres';
          if (seen) seen.conflict ??= detail;
          else after.set(batchId, { completed: false, status: 'open', conflict: detail });
          continue;
        }
        if (item.op === 'excess') await this.cache.noteExcess(batchId, item.input.textStorageId, item.proposed);
        if (seen) {
          seen.completed ||= w.completed;
          seen.status = w.status;
        } else after.set(batchId, { completed: w.completed, status: w.status });
        recorded[index] =
          item.op === 'assign'
            ? 'assigned'
            : item.op === 'excess'
              ? 'excess'
              : item.op === 'failure'
                ? 'failure_settled'
                : 'failure_excess';
      }
      for (const [batchId, a] of after) {
        if (a.conflict === undefined) continue;
        this.log.warn({ batchId, detail: a.conflict }, 'cache disagrees with postgres; rebuilding the batch entry');
        await this.cache.invalidate(batchId);
      }
      await this.settledMany([...after].map(([batchId, a]) => ({ batchId, completed: a.completed, status: a.status })));
      recorded.forEach((o, i) => (out[i] = o));
      return out;
    } catch (err) {
      // Whatever was committed is found again, idempotently, by the one-input path.
      this.log.warn(
        { inputs: inputs.length, err: err instanceof Error ? err.message : String(err) },
        'settling a fetched batch at once failed; each input takes the one-input path',
      );
      return inputs.map(() => undefined);
    }
  }

  /** Assigns whatever was parked for a batch before its registration arrived. */
  async drainPending(batchId: string): Promise<number> {
    const { contents, failures } = await this.store.pendingOf(batchId);
    for (const c of contents) await this.provisionContent(c);
    for (const f of failures) await this.validationFailed(f);
    const n = contents.length + failures.length;
    if (n > 0) this.log.info({ batchId, drained: n }, 'parked inputs assigned');
    return n;
  }

  /**
   * One pass of the periodic work any instance may do: deadlines, cache closes that failed after a close,
   * parked inputs left by a crash, and parked inputs whose batch does not come (announced by a dead letter
   * after the TTL, dropped after the retention). A batch that fails does not stop the pass: every other batch gets its
   * turn, and the pass then fails with all of them named ({@link SweepError}).
   */
  async sweep(): Promise<void> {
    const failures: { batchId: string; step: string; err: unknown }[] = [];
    /** Runs `work` on each batch (an id, or a row naming one); a failure is noted and the next batch goes on. */
    const each = async <T extends string | { batchId: string }>(
      step: string,
      items: readonly T[],
      work: (item: T) => Promise<void>,
    ) => {
      for (const item of items) {
        try {
          await work(item);
        } catch (err) {
          failures.push({ batchId: typeof item === 'string' ? item : item.batchId, step, err });
        }
      }
    };
    // One statement says what there is to do; an idle pass ends here.
    const agenda = await this.store.sweepAgenda(50, this.opts.parkedTtlMs, this.opts.parkedRetentionMs);
    await each('time-out', agenda.overdue, async (batchId) => {
      if (!(await this.store.timeOut(batchId))) return;
      await this.closed(batchId, 'timed_out');
    });
    // A time-out above whose cache close failed is retried now, in this pass: the list is read again after them.
    const cacheOpen = agenda.overdue.length > 0 ? await this.store.closedWithCacheOpen(50) : agenda.closedWithCacheOpen;
    await each('cache close', cacheOpen, async ({ batchId, status }) => {
      await this.cache.close(batchId, status);
      await this.settleFinal(batchId);
      await this.store.cacheClosed(batchId);
      this.log.warn({ batchId, status }, 'closed batch closed in the cache by a later sweep');
    });
    await each('drain', agenda.withPending, async (batchId) => {
      await this.drainPending(batchId);
    });
    await each('parked announcement', agenda.unregisteredWithExpiredParking, async (batchId) => {
      const n = await this.store.announceExpiredParking(batchId, this.opts.parkedTtlMs, this.opts.parkedRetentionMs);
      if (n === 0) return;
      this.hooks.onParkedExpired?.(batchId, n);
      this.log.warn(
        { batchId, deadLettered: n, parkedTtlMs: this.opts.parkedTtlMs },
        'inputs parked for a batch not registered within the TTL were dead-lettered; they stay parked',
      );
    });
    try {
      const forgotten = agenda.parkingToForget
        ? await this.store.forgetAnnouncedParking(this.opts.parkedRetentionMs, 500)
        : 0;
      if (forgotten > 0)
        this.log.warn({ forgotten }, 'parked inputs announced longer ago than the retention were dropped');
    } catch (err) {
      failures.push({ batchId: '*', step: 'parked retention', err });
    }
    if (failures.length > 0) throw new SweepError(failures);
  }

  private async rebuild(batchId: string): Promise<'loaded' | 'unregistered'> {
    const snapshot = await this.store.snapshot(batchId);
    if (!snapshot) return 'unregistered';
    await this.cache.load(snapshot);
    this.log.info({ batchId }, 'cache entry rebuilt from postgres');
    return 'loaded';
  }

  private async onConflict(batchId: string, write: Exclude<StoreWrite, { kind: 'recorded' }>): Promise<void> {
    // `unregistered` cannot follow a cache hit unless the cache holds a batch
    // the store never had (a foreign writer): dropping the entry is right then too.
    const detail = write.kind === 'conflict' ? write.detail : 'batch not registered in postgres';
    this.log.warn({ batchId, detail }, 'cache disagrees with postgres; rebuilding the batch entry');
    await this.cache.invalidate(batchId);
  }

  /**
   * After a recorded write: close the batch in the cache if this write
   * completed it — or if Postgres says it is final while the cache may not
   * know: a rebuild that read Postgres just before another instance completed
   * the batch (that instance's close found no entry, Redis having just lost
   * it) loads the batch as open, and the redelivered content that fills its
   * last slot is then an idempotent success that completes nothing. The close
   * script is a no-op on an entry already closed.
   */
  private async settled(batchId: string, write: Extract<StoreWrite, { kind: 'recorded' }>): Promise<void> {
    await this.settledMany([{ batchId, completed: write.completed, status: write.status }]);
  }

  /**
   * {@link settled} for the batches of one settled run, in four round trips whatever their number: their closes
   * in one pipeline, the snapshots of those to replace in one statement, their final entries in one pipeline,
   * and the marks that their entries are closed in one statement. A run that completes many batches at once
   * (a backlog's last contents) would otherwise hold its partition for several round trips per batch.
   */
  private async settledMany(
    batches: readonly { readonly batchId: string; readonly completed: boolean; readonly status: BatchStatus }[],
  ): Promise<void> {
    const closes: { batchId: string; status: 'ready' | 'timed_out'; completed: boolean }[] = [];
    for (const b of batches) {
      if (b.completed) closes.push({ batchId: b.batchId, status: 'ready', completed: true });
      else if (b.status !== 'open') closes.push({ batchId: b.batchId, status: b.status, completed: false });
    }
    if (closes.length === 0) return;
    const closedNow = await this.cache.closeMany(closes);
    const replace = closes.filter((c, i) => {
      if (c.completed) return true;
      if (!closedNow[i]) return false;
      this.log.warn({ batchId: c.batchId, status: c.status }, 'cache had a final batch as open; closed it');
      return true;
    });
    await this.settleFinalMany(replace.map((c) => c.batchId));
    const completed = closes.filter((c) => c.completed);
    await this.store.cacheClosedMany(completed.map((c) => c.batchId));
    for (const c of completed) {
      this.hooks.onBatchClosed?.(c.batchId, 'ready');
      this.log.info({ batchId: c.batchId, status: 'ready' }, 'batch closed');
    }
  }

  /** {@link settleFinal} for many batches: one statement reads their snapshots, one pipeline writes them. */
  private async settleFinalMany(batchIds: readonly string[]): Promise<void> {
    if (batchIds.length === 0) return;
    const snapshots = await this.store.snapshots(batchIds);
    await this.cache.replaceFinalMany([...snapshots.values()].filter((s) => s.status !== 'open'));
  }

  /**
   * The closed batch's entry becomes exactly what Postgres holds. An entry loaded by a stale rebuild (a
   * snapshot read before another instance's write committed) may show a filled slot as free; once the batch
   * is final nothing corrects it, so the close writes the truth over it. Postgres no longer changes for a
   * closed batch but for excess rows, which the entry's excess list only mirrors.
   */
  private async settleFinal(batchId: string): Promise<void> {
    await this.settleFinalMany([batchId]);
  }

  /** After the commit that closed it: its cache entry, then the mark that the entry is closed (else sweeps retry). */
  private async closed(batchId: string, status: 'ready' | 'timed_out'): Promise<void> {
    await this.cache.close(batchId, status);
    await this.settleFinal(batchId);
    await this.store.cacheClosed(batchId);
    this.hooks.onBatchClosed?.(batchId, status);
    this.log.info({ batchId, status }, 'batch closed');
  }
}
