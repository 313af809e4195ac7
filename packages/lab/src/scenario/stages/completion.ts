/**
 * What "done" means for a seed, tracked from the outputs as they arrive: every registered batch finished
 * (ready or timed out) and every content of a registered batch settled (assigned or excess). Pure: fed events,
 * asked questions; the wait loop of {@link observe} drives it.
 */
import { EventType, type OutputEvent } from '@chaos-lab/contracts';
import { closableBatches, publishedEvents, type AssignmentPlan, type HistoryEntry } from '@chaos-lab/model';

const contentKey = (batchId: string, textStorageId: string) => `${batchId}/${textStorageId}`;

export class CompletionTracker {
  /** Batches waited for: registered by the plan (and, after {@link narrow}, able to close). */
  readonly registered: Set<string>;
  /** Contents waited for; contents of batches nobody registers stay parked: they never settle. */
  readonly contentKeys: Set<string>;
  readonly finished = new Set<string>();
  readonly settled = new Set<string>();
  /** When the last content settled (`now()` units), 0 before any. */
  lastSettledAt = 0;
  /** Publishes sent so far. */
  sent = 0;

  constructor(
    private readonly plan: AssignmentPlan,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.registered = new Set(
      plan.publishes.flatMap((p) => (p.event?.event_type === EventType.BatchRegistered ? [p.key] : [])),
    );
    this.contentKeys = new Set(
      plan.publishes.flatMap((p) =>
        p.event?.event_type === EventType.ContentProvisioned && this.registered.has(p.event.data.batch_id)
          ? [contentKey(p.event.data.batch_id, p.event.data.text_storage_id)]
          : [],
      ),
    );
  }

  readonly onEvent = (e: OutputEvent): void => {
    if (e.event_type === EventType.BatchReady || e.event_type === EventType.BatchTimedOut)
      this.finished.add(e.data.batch_id);
    if (e.event_type === EventType.SlotAssigned || e.event_type === EventType.ExcessContent) {
      const k = contentKey(e.data.batch_id, e.data.text_storage_id);
      if (!this.settled.has(k)) {
        this.settled.add(k);
        this.lastSettledAt = this.now();
      }
    }
  };

  /** Finished batches plus settled contents: what counts as progress. */
  get count(): number {
    return this.finished.size + this.settled.size;
  }

  done(): boolean {
    return (
      [...this.registered].every((b) => this.finished.has(b)) && [...this.contentKeys].every((k) => this.settled.has(k))
    );
  }

  /**
   * Stops waiting for what the inputs cannot produce, given the history as the coordinator could have seen it:
   * a batch that cannot close or whose registration was not definitely delivered, a content not definitely
   * delivered. Returns how many batches and contents were dropped.
   */
  narrow(seen: readonly HistoryEntry[]): number {
    const closable = closableBatches(seen);
    const okRegistered = new Set<string>();
    const okContents = new Set<string>();
    for (const p of publishedEvents(seen, { outcomes: ['ok'] })) {
      if (p.event?.event_type === EventType.BatchRegistered) okRegistered.add(p.event.data.batch_id);
      if (p.event?.event_type === EventType.ContentProvisioned)
        okContents.add(contentKey(p.event.data.batch_id, p.event.data.text_storage_id));
    }
    const before = this.registered.size + this.contentKeys.size;
    for (const b of this.registered) if (!closable.has(b) || !okRegistered.has(b)) this.registered.delete(b);
    for (const k of this.contentKeys)
      if (!okContents.has(k) || !okRegistered.has(k.slice(0, k.lastIndexOf('/')))) this.contentKeys.delete(k);
    return before - this.registered.size - this.contentKeys.size;
  }

  /** The progress line. */
  line(outputs: number): string {
    return `lab: published ${this.sent}/${this.plan.publishes.length}, settled ${this.settled.size}/${this.contentKeys.size} contents, finished ${this.finished.size}/${this.registered.size} batches, ${outputs} outputs`;
  }
}
