/**
 * The decorators the variants are built from: each forwards every call of a
 * port to the production adapter it wraps, so that a variant overrides only
 * the step it breaks. Lab only, like the rest of this directory.
 */
import type {
  BatchSnapshot,
  BatchStore,
  CacheAssign,
  CacheFailure,
  ContentInput,
  DeadLetterInput,
  FailureInput,
  ProposalInput,
  Registration,
  SettleItem,
  SlotCache,
} from '../domain/ports.js';
import type { ExcessReason } from '@chaos-lab/contracts';

type Closed = 'ready' | 'timed_out';
type ProposalRequests = readonly { readonly batchId: string; readonly inputs: readonly ProposalInput[] }[];

/** A {@link SlotCache} that forwards every call to `inner`. */
export class SlotCacheDecorator implements SlotCache {
  constructor(private readonly inner: SlotCache) {}
  load(s: BatchSnapshot) {
    return this.inner.load(s);
  }
  assign(batchId: string, textStorageId: string) {
    return this.inner.assign(batchId, textStorageId);
  }
  settleFailure(batchId: string, identity: string) {
    return this.inner.settleFailure(batchId, identity);
  }
  proposeMany(requests: ProposalRequests) {
    return this.inner.proposeMany(requests);
  }
  close(batchId: string, status: Closed) {
    return this.inner.close(batchId, status);
  }
  closeMany(closes: readonly { readonly batchId: string; readonly status: Closed }[]) {
    return this.inner.closeMany(closes);
  }
  replaceFinal(s: BatchSnapshot) {
    return this.inner.replaceFinal(s);
  }
  replaceFinalMany(snapshots: readonly BatchSnapshot[]) {
    return this.inner.replaceFinalMany(snapshots);
  }
  noteExcess(batchId: string, textStorageId: string, reason: ExcessReason) {
    return this.inner.noteExcess(batchId, textStorageId, reason);
  }
  invalidate(batchId: string) {
    return this.inner.invalidate(batchId);
  }
  ping() {
    return this.inner.ping();
  }
}

/**
 * {@link SlotCache.proposeMany} one input at a time through `cache`'s own {@link SlotCache.assign} and
 * {@link SlotCache.settleFailure}, in order: the batched path of a cache whose bug lives in those steps
 * (production's one script per batch would bypass them).
 */
export async function proposeOneByOne(
  cache: SlotCache,
  requests: ProposalRequests,
): Promise<(CacheAssign | CacheFailure)[][]> {
  const out: (CacheAssign | CacheFailure)[][] = [];
  for (const r of requests) {
    const answers: (CacheAssign | CacheFailure)[] = [];
    for (const i of r.inputs)
      answers.push(
        i.kind === 'content' ? await cache.assign(r.batchId, i.key) : await cache.settleFailure(r.batchId, i.key),
      );
    out.push(answers);
  }
  return out;
}

/** A {@link BatchStore} that forwards every call to `inner`. */
export class BatchStoreDecorator implements BatchStore {
  constructor(private readonly inner: BatchStore) {}
  register(r: Registration) {
    return this.inner.register(r);
  }
  snapshot(batchId: string) {
    return this.inner.snapshot(batchId);
  }
  snapshots(batchIds: readonly string[]) {
    return this.inner.snapshots(batchIds);
  }
  parkContent(c: ContentInput) {
    return this.inner.parkContent(c);
  }
  parkFailure(f: FailureInput) {
    return this.inner.parkFailure(f);
  }
  pendingOf(batchId: string) {
    return this.inner.pendingOf(batchId);
  }
  unregisteredWithExpiredParking(ttlMs: number, limit: number) {
    return this.inner.unregisteredWithExpiredParking(ttlMs, limit);
  }
  announceExpiredParking(batchId: string, ttlMs: number, retentionMs: number) {
    return this.inner.announceExpiredParking(batchId, ttlMs, retentionMs);
  }
  forgetAnnouncedParking(retentionMs: number, limit: number) {
    return this.inner.forgetAnnouncedParking(retentionMs, limit);
  }
  sweepAgenda(limit: number, parkedTtlMs: number, parkedRetentionMs: number) {
    return this.inner.sweepAgenda(limit, parkedTtlMs, parkedRetentionMs);
  }
  batchesWithPending(limit: number) {
    return this.inner.batchesWithPending(limit);
  }
  closedWithCacheOpen(limit: number) {
    return this.inner.closedWithCacheOpen(limit);
  }
  cacheClosed(batchId: string) {
    return this.inner.cacheClosed(batchId);
  }
  cacheClosedMany(batchIds: readonly string[]) {
    return this.inner.cacheClosedMany(batchIds);
  }
  recordAssignment(c: ContentInput, essayId: string) {
    return this.inner.recordAssignment(c, essayId);
  }
  recordFailure(f: FailureInput, essayId: string) {
    return this.inner.recordFailure(f, essayId);
  }
  recordExcess(c: ContentInput, reason: ExcessReason) {
    return this.inner.recordExcess(c, reason);
  }
  recordExcessFailure(f: FailureInput) {
    return this.inner.recordExcessFailure(f);
  }
  settleMany(items: readonly SettleItem[]) {
    return this.inner.settleMany(items);
  }
  overdueBatches(limit: number) {
    return this.inner.overdueBatches(limit);
  }
  timeOut(batchId: string) {
    return this.inner.timeOut(batchId);
  }
  deadLetter(d: DeadLetterInput) {
    return this.inner.deadLetter(d);
  }
  view(batchId: string) {
    return this.inner.view(batchId);
  }
  ping() {
    return this.inner.ping();
  }
}
