/**
 * The assignment workload: a seeded plan of input events for the
 * coordinator. It is a pure function of (options, seed): the same seed gives
 * the same events in the same order with the same ids, so a failing run can
 * be replayed exactly.
 *
 * What a plan contains, per batch: a registration, one content per slot
 * (minus the slots settled by validation failures), sometimes excess
 * contents, content published before its batch's registration, and
 * redeliveries (the same event, same id, published again later). Plus the
 * "burst": one content event published N times at once to N different
 * partitions, so that different instances race to assign the same content.
 */
import { EventType, topics as topicNames, type InputEvent, type Topics } from '@chaos-lab/contracts';
import { SeededRandom } from '../random.js';
import { InvalidArgumentError } from '@chaos-lab/errors';

export interface AssignmentWorkloadOptions {
  /** Number of ordinary batches. Default 50. */
  readonly batches?: number;
  /** Slots per batch. Default 20. */
  readonly slotsPerBatch?: number;
  /** Share of content events delivered twice. Default 0.1. */
  readonly duplicateRatio?: number;
  /** Chance that a slot is settled by a validation failure instead of content. Default 0.05. */
  readonly failureRatio?: number;
  /** Share of batches that receive 1–2 contents beyond their slots. Default 0.2. */
  readonly excessBatchRatio?: number;
  /** Share of batches whose registration is published after some of their contents. Default 0.3. */
  readonly lateRegistrationRatio?: number;
  /** Copies of the burst event (0 disables the burst). Default 20. */
  readonly burstCopies?: number;
  /** Number of partitions of the input topics (the burst spreads over them). Default 6. */
  readonly partitions?: number;
  /** Contents for batches that are never registered (parked for ever). Default 0. */
  readonly orphanContents?: number;
  /** Contents published at the very end for batches that are complete by then (excess). Default 0. */
  readonly lateContents?: number;
  /** Malformed messages of each poison kind (bad JSON, unknown type, schema mismatch, oversized). Default 0. */
  readonly poisonPerKind?: number;
  /** Batches registered with a deadline and missing one content, so they must time out. Default 0. */
  readonly timeoutBatches?: number;
  /** Deadline of those batches, relative to their registration's publish. Default 3000 ms. */
  readonly deadlineMs?: number;
  /**
   * Draw every file name of contents and failures from this many names (0: each one unique), so that
   * different uploads of one batch share a name by chance — two students both uploading `essay.docx`.
   * Default 0.
   */
  readonly fileNamePool?: number;
  /**
   * The contract version of validation failures: 2 (each names its upload, so two uploads of one file name
   * are two failures) or 1 (no upload id: identified by file name). Default 2.
   */
  readonly failureVersion?: 1 | 2;
  /** Prefix of every batch id, so runs sharing a store never collide. */
  readonly idPrefix: string;
  readonly topics?: Topics;
}

export interface PlannedPublish {
  readonly topic: string;
  readonly key: string;
  /** Explicit partition (the burst); otherwise the producer partitions by key. */
  readonly partition?: number;
  /** The event (absent for poison, which is `raw`). */
  readonly event?: InputEvent;
  /** A message value that is deliberately not a valid event (poison); must be dead-lettered. */
  readonly raw?: string;
  /**
   * Poison as exact bytes, base64 (may be invalid UTF-8, NUL, anything): wins over `event` and `raw`.
   * Must be dead-lettered, like `raw`.
   */
  readonly valueBase64?: string;
  /** The key as exact bytes, base64, or null for a message without a key: wins over `key`. */
  readonly keyBase64?: string | null;
  /**
   * The registration's deadline, relative to the moment it is published: the
   * plan stays independent of the wall clock; the publisher stamps the
   * absolute time.
   */
  readonly deadlineInMs?: number;
  /** Publishes with the same `group` are sent together in one request. */
  readonly group?: string;
  /** Why this publish is in the plan (for the report): `registration`, `content`, `duplicate`, `burst`… */
  readonly role: string;
}

export interface AssignmentPlan {
  readonly seed: number;
  readonly options: Required<Omit<AssignmentWorkloadOptions, 'topics'>>;
  readonly publishes: PlannedPublish[];
  readonly expected: {
    readonly batches: number;
    readonly contents: number;
    readonly excessContents: number;
    readonly failures: number;
    readonly duplicates: number;
    readonly poison: number;
    readonly timeoutBatches: number;
  };
}

/** The names a {@link AssignmentWorkloadOptions.fileNamePool} draws from (the first N of them). */
const POOLED_FILE_NAMES = ['essay.docx', 'essay.pdf', 'Essay.docx', 'final.docx', 'essay (1).docx', 'untitled.txt'];

function check(name: string, v: number, min: number, max: number, int = false): void {
  if (!Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw new InvalidArgumentError(name, v, `${int ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
}

export function planAssignmentWorkload(seed: number, o: AssignmentWorkloadOptions): AssignmentPlan {
  const opts = {
    batches: o.batches ?? 50,
    slotsPerBatch: o.slotsPerBatch ?? 20,
    duplicateRatio: o.duplicateRatio ?? 0.1,
    failureRatio: o.failureRatio ?? 0.05,
    excessBatchRatio: o.excessBatchRatio ?? 0.2,
    lateRegistrationRatio: o.lateRegistrationRatio ?? 0.3,
    burstCopies: o.burstCopies ?? 20,
    partitions: o.partitions ?? 6,
    orphanContents: o.orphanContents ?? 0,
    lateContents: o.lateContents ?? 0,
    poisonPerKind: o.poisonPerKind ?? 0,
    timeoutBatches: o.timeoutBatches ?? 0,
    deadlineMs: o.deadlineMs ?? 3000,
    fileNamePool: o.fileNamePool ?? 0,
    failureVersion: o.failureVersion ?? 2,
    idPrefix: o.idPrefix,
  };
  if (opts.failureVersion !== 1 && opts.failureVersion !== 2)
    throw new InvalidArgumentError('failureVersion', opts.failureVersion, '1 or 2');
  check('fileNamePool', opts.fileNamePool, 0, 10_000, true);
  check('orphanContents', opts.orphanContents, 0, 100_000, true);
  check('lateContents', opts.lateContents, 0, 100_000, true);
  check('poisonPerKind', opts.poisonPerKind, 0, 10_000, true);
  check('timeoutBatches', opts.timeoutBatches, 0, 100_000, true);
  check('deadlineMs', opts.deadlineMs, 100, 3_600_000, true);
  check('batches', opts.batches, 0, 100_000, true);
  check('slotsPerBatch', opts.slotsPerBatch, 1, 10_000, true);
  check('duplicateRatio', opts.duplicateRatio, 0, 1);
  check('failureRatio', opts.failureRatio, 0, 1);
  check('excessBatchRatio', opts.excessBatchRatio, 0, 1);
  check('lateRegistrationRatio', opts.lateRegistrationRatio, 0, 1);
  check('burstCopies', opts.burstCopies, 0, 1000, true);
  check('partitions', opts.partitions, 1, 1000, true);
  if (!/^[A-Za-z0-9._:-]{1,60}$/.test(opts.idPrefix)) {
    throw new InvalidArgumentError('idPrefix', opts.idPrefix, 'letters, digits and . _ : - (1 to 60 characters)');
  }
  const t = o.topics ?? topicNames();
  const rng = new SeededRandom(seed);
  // Deterministic timestamps: the plan must not depend on the wall clock.
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  let n = 0;
  const envelope = <T extends InputEvent['event_type']>(type: T, correlation: string, data: unknown) =>
    ({ event_id: rng.uuid(), event_type: type, correlation_id: correlation, occurred_at: at(n++), data }) as InputEvent;

  const registrations: PlannedPublish[] = [];
  const perBatch = new Map<string, PlannedPublish[]>();
  let contents = 0;
  let excessContents = 0;
  let failures = 0;
  for (let b = 0; b < opts.batches; b++) {
    const batchId = `${opts.idPrefix}-b${b}`;
    const corr = `${batchId}-corr`;
    const essayIds = Array.from({ length: opts.slotsPerBatch }, (_, i) => `${batchId}-e${i}`);
    registrations.push({
      topic: t.batchRegistered,
      key: batchId,
      role: 'registration',
      event: envelope(EventType.BatchRegistered, corr, { batch_id: batchId, essay_ids: essayIds }),
    });
    const items: PlannedPublish[] = [];
    // Names from the shared pool are the same across batches and uploads: collisions happen by themselves.
    const pooled = (fallback: string) =>
      opts.fileNamePool > 0
        ? POOLED_FILE_NAMES[rng.int(0, opts.fileNamePool - 1) % POOLED_FILE_NAMES.length]!
        : fallback;
    let failed = 0;
    for (let s = 0; s < opts.slotsPerBatch; s++) {
      if (rng.chance(opts.failureRatio)) {
        failed++;
        const failure = {
          batch_id: batchId,
          original_file_name: pooled(`${batchId}-failed-${s}.docx`),
          reason: 'unsupported file format',
        };
        items.push({
          topic: t.validationFailed,
          key: batchId,
          role: 'failure',
          event:
            opts.failureVersion === 2
              ? envelope(EventType.ValidationFailedV2, corr, { ...failure, upload_id: `${batchId}-u${s}` })
              : envelope(EventType.ValidationFailed, corr, failure),
        });
      }
    }
    const extra = rng.chance(opts.excessBatchRatio) ? rng.int(1, 2) : 0;
    const nContents = opts.slotsPerBatch - failed + extra;
    for (let c = 0; c < nContents; c++) {
      items.push({
        topic: t.contentProvisioned,
        key: batchId,
        role: c >= opts.slotsPerBatch - failed ? 'excess' : 'content',
        event: envelope(EventType.ContentProvisioned, corr, {
          batch_id: batchId,
          text_storage_id: `${batchId}-t${c}`,
          original_file_name: pooled(`${batchId}-essay-${c}.txt`),
        }),
      });
    }
    contents += nContents;
    excessContents += extra;
    failures += failed;
    perBatch.set(batchId, rng.shuffle(items));
  }

  // Interleave batches: a global shuffle of every content/failure, then each
  // registration goes before its batch's first input, or (late registration)
  // after a random number of them.
  const flat = rng.shuffle([...perBatch.values()].flat());
  const firstIndex = new Map<string, number[]>();
  flat.forEach((p, i) => {
    const l = firstIndex.get(p.key) ?? [];
    l.push(i);
    firstIndex.set(p.key, l);
  });
  const insertAt = new Map<number, PlannedPublish[]>();
  for (const reg of registrations) {
    const idx = firstIndex.get(reg.key) ?? [flat.length];
    const late = rng.chance(opts.lateRegistrationRatio) && idx.length > 1;
    const pos = late ? idx[rng.int(1, idx.length - 1)]! : idx[0]!;
    insertAt.set(pos, [...(insertAt.get(pos) ?? []), late ? { ...reg, role: 'late-registration' } : reg]);
  }
  let ordered: PlannedPublish[] = [];
  for (let i = 0; i <= flat.length; i++) {
    ordered.push(...(insertAt.get(i) ?? []));
    const p = flat[i];
    if (p) ordered.push(p);
  }

  // Redeliveries: the same event again (same id), somewhere after the original.
  let duplicates = 0;
  const contentIdx = ordered.flatMap((p, i) => (p.role === 'content' || p.role === 'excess' ? [i] : []));
  const dupCount = Math.round(contentIdx.length * opts.duplicateRatio);
  const chosen = rng
    .shuffle(contentIdx)
    .slice(0, dupCount)
    .sort((a, b) => b - a);
  for (const i of chosen) {
    const original = ordered[i]!;
    const pos = rng.int(i + 1, ordered.length);
    ordered = [...ordered.slice(0, pos), { ...original, role: 'duplicate' }, ...ordered.slice(pos)];
    duplicates++;
  }

  // The burst: one content, N identical copies at once on N partitions, in a 2-slot batch.
  if (opts.burstCopies > 0) {
    const batchId = `${opts.idPrefix}-burst`;
    const corr = `${batchId}-corr`;
    ordered.push({
      topic: t.batchRegistered,
      key: batchId,
      role: 'registration',
      event: envelope(EventType.BatchRegistered, corr, {
        batch_id: batchId,
        essay_ids: [`${batchId}-e0`, `${batchId}-e1`],
      }),
    });
    const burst = envelope(EventType.ContentProvisioned, corr, {
      batch_id: batchId,
      text_storage_id: `${batchId}-t0`,
      original_file_name: 'burst.txt',
    });
    for (let i = 0; i < opts.burstCopies; i++) {
      ordered.push({
        topic: t.contentProvisioned,
        key: batchId,
        partition: i % opts.partitions,
        event: burst,
        group: 'burst',
        role: 'burst',
      });
    }
    ordered.push({
      topic: t.contentProvisioned,
      key: batchId,
      role: 'content',
      event: envelope(EventType.ContentProvisioned, corr, {
        batch_id: batchId,
        text_storage_id: `${batchId}-t1`,
        original_file_name: 'second.txt',
      }),
    });
    contents += 2;
    duplicates += opts.burstCopies - 1;
  }

  // Batches that must time out: registered with a deadline, one slot never filled.
  for (let b = 0; b < opts.timeoutBatches; b++) {
    const batchId = `${opts.idPrefix}-deadline${b}`;
    const corr = `${batchId}-corr`;
    const n = Math.max(2, Math.min(opts.slotsPerBatch, 5));
    const essayIds = Array.from({ length: n }, (_, i) => `${batchId}-e${i}`);
    const reg: PlannedPublish = {
      topic: t.batchRegistered,
      key: batchId,
      role: 'deadline-registration',
      deadlineInMs: opts.deadlineMs,
      event: envelope(EventType.BatchRegistered, corr, { batch_id: batchId, essay_ids: essayIds }),
    };
    const pos = rng.int(0, Math.floor(ordered.length / 2));
    const withheld = rng.int(0, n - 1);
    const parts: PlannedPublish[] = [reg];
    for (let c = 0; c < n; c++) {
      if (c === withheld) continue;
      parts.push({
        topic: t.contentProvisioned,
        key: batchId,
        role: 'content',
        event: envelope(EventType.ContentProvisioned, corr, {
          batch_id: batchId,
          text_storage_id: `${batchId}-t${c}`,
          original_file_name: `${batchId}-essay-${c}.txt`,
        }),
      });
      contents++;
    }
    ordered = [...ordered.slice(0, pos), ...parts, ...ordered.slice(pos)];
  }

  // Orphans: contents of batches nobody registers; they stay parked.
  for (let i = 0; i < opts.orphanContents; i++) {
    const batchId = `${opts.idPrefix}-orphan${i % 3}`;
    const pos = rng.int(0, ordered.length);
    const p: PlannedPublish = {
      topic: t.contentProvisioned,
      key: batchId,
      role: 'orphan',
      event: envelope(EventType.ContentProvisioned, `${batchId}-corr`, {
        batch_id: batchId,
        text_storage_id: `${batchId}-t${i}`,
        original_file_name: `orphan-${i}.txt`,
      }),
    };
    ordered = [...ordered.slice(0, pos), p, ...ordered.slice(pos)];
  }

  // Poison: messages no coordinator may accept, spread through the plan.
  const poisonKinds: { role: string; topic: string; raw: (i: number) => string }[] = [
    { role: 'poison-bad-json', topic: t.contentProvisioned, raw: (i) => `{"event_id": "broken-${i}", ` },
    {
      role: 'poison-unknown-type',
      topic: t.batchRegistered,
      raw: () =>
        JSON.stringify({
          event_id: rng.uuid(),
          event_type: 'batch.deleted.v9',
          correlation_id: 'p',
          occurred_at: at(n++),
          data: {},
        }),
    },
    {
      role: 'poison-schema',
      topic: t.contentProvisioned,
      raw: () =>
        JSON.stringify({
          event_id: rng.uuid(),
          event_type: EventType.ContentProvisioned,
          correlation_id: 'p',
          occurred_at: at(n++),
          data: { batch_id: 'x' },
        }),
    },
    {
      role: 'poison-oversized',
      topic: t.validationFailed,
      raw: (i) => JSON.stringify({ pad: 'x'.repeat(300 * 1024), i }),
    },
  ];
  let poison = 0;
  for (const kind of poisonKinds) {
    for (let i = 0; i < opts.poisonPerKind; i++) {
      const pos = rng.int(0, ordered.length);
      const p: PlannedPublish = {
        topic: kind.topic,
        key: `${opts.idPrefix}-poison`,
        role: kind.role,
        raw: kind.raw(i),
      };
      ordered = [...ordered.slice(0, pos), p, ...ordered.slice(pos)];
      poison++;
    }
  }

  // Late contents: at the very end, for batches that are complete by then (excess).
  for (let i = 0; i < opts.lateContents && opts.batches > 0; i++) {
    const batchId = `${opts.idPrefix}-b${rng.int(0, opts.batches - 1)}`;
    ordered.push({
      topic: t.contentProvisioned,
      key: batchId,
      role: 'late',
      event: envelope(EventType.ContentProvisioned, `${batchId}-corr`, {
        batch_id: batchId,
        text_storage_id: `${batchId}-late${i}`,
        original_file_name: `late-${i}.txt`,
      }),
    });
    contents++;
    excessContents++;
  }

  return {
    seed,
    options: opts,
    publishes: ordered,
    expected: {
      batches: opts.batches + (opts.burstCopies > 0 ? 1 : 0) + opts.timeoutBatches,
      contents,
      excessContents,
      failures,
      duplicates,
      poison,
      timeoutBatches: opts.timeoutBatches,
    },
  };
}
