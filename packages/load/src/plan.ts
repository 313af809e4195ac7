/**
 * The request plan: which request iteration i of a load run makes.
 *
 * Both load drivers — the embedded one (driver.ts) and the k6 script (k6/pipeline.ts) — ask this module
 * for iteration i's request, so the same (profile, seed, batch prefix) gives the same sequence of
 * requests in both. That is why this file imports nothing: k6 loads it by relative path in its own
 * JavaScript runtime, where neither Node's modules nor npm packages exist.
 *
 * The model: a few batches are open at once (`openBatches`); each iteration either repeats an earlier
 * upload with the same Idempotency-Key (a duplicate, with probability `duplicateRatio`) or takes the next
 * step of a randomly chosen open batch. A batch's steps are its registration and one upload per essay;
 * the registration comes first with probability `registerFirstRatio`, otherwise after a random number
 * (≥ 1) of its uploads. Each essay is invalid (empty text, which the service reports as a validation
 * failure) with probability `validationFailureRatio`. A batch that has taken all its steps is replaced
 * by the next one.
 *
 * An iteration that a driver drops never asks for a request, so what a run issues is always the prefix
 * 0..n-1 of the plan; `PlanLedger` says what that prefix means for each batch.
 */
import { LoadError } from './errors.js';

/** The profile fields the plan reads (a validated `Profile` satisfies it). */
export interface PlanProfile {
  readonly seed: number;
  readonly batches: {
    readonly sizeMin: number;
    readonly sizeMax: number;
    readonly deadlineSeconds?: number | undefined;
  };
  readonly duplicateRatio: number;
  readonly validationFailureRatio: number;
  readonly registerFirstRatio?: number | undefined;
  readonly textBytes: { readonly min: number; readonly max: number };
}

export interface PlanOptions {
  readonly profile: PlanProfile;
  /**
   * Starts every batch id (`<prefix>-b<n>`) and Idempotency-Key. Make it unique per run (the run id) so
   * repeated runs against the same environment never collide.
   */
  readonly batchPrefix: string;
  /** Default: `profile.seed`. */
  readonly seed?: number | undefined;
  /** How many batches are open (interleaved) at once. Default {@link DEFAULT_OPEN_BATCHES}. */
  readonly openBatches?: number | undefined;
}

export const DEFAULT_OPEN_BATCHES = 4;
/** Duplicates repeat one of this many most recent uploads: a retry follows its original closely. */
export const DUPLICATE_WINDOW = 64;
/** `^[A-Za-z0-9._:-]+$`, at most 200 characters: what the ingest service accepts as a batch id. */
export const BATCH_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
export const BATCH_ID_MAX_LENGTH = 200;
/**
 * Room kept after the prefix for `-b<index>-e<essay>` (10 + 6 digits), so batch ids and Idempotency-Keys
 * (which the service caps at 200 characters too) both fit.
 */
const BATCH_SUFFIX_ROOM = 20;

export type RequestName = 'register' | 'upload' | 'upload_duplicate' | 'upload_invalid';

interface RequestBase {
  /** The plan index: the n-th iteration a driver started. */
  readonly iteration: number;
  readonly batchId: string;
  readonly batchIndex: number;
  /** The batch's number of essays (what its registration announces). */
  readonly essayCount: number;
}

export interface RegisterRequest extends RequestBase {
  readonly name: 'register';
  readonly deadlineSeconds?: number | undefined;
}

export interface UploadRequest extends RequestBase {
  readonly name: 'upload' | 'upload_invalid' | 'upload_duplicate';
  readonly essayIndex: number;
  readonly idempotencyKey: string;
  readonly fileName: string;
  /** Bytes of text (ASCII, so also characters); 0 for an invalid essay. */
  readonly textLength: number;
  readonly invalid: boolean;
  /** For a duplicate: the iteration of the upload it repeats. */
  readonly duplicateOf?: number | undefined;
}

export type PlannedRequest = RegisterRequest | UploadRequest;

/** What goes on the wire for a planned request. */
export interface HttpRequestSpec {
  readonly method: 'POST';
  /** Relative to the service's base URL, starting with `/`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export class PlanOptionsError extends LoadError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`plan option ${field}=${JSON.stringify(value)}: ${reason}`);
  }
}

/** mulberry32: small, fast, and identical in every JavaScript runtime (32-bit integer arithmetic only). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a string, for seeds derived from names. */
function hash32(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let k = 0; k < text.length; k++) {
    h ^= text.charCodeAt(k);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

interface OpenBatch {
  readonly index: number;
  readonly id: string;
  readonly size: number;
  /** Uploads issued before the registration (0: registration first). */
  readonly registerAfter: number;
  uploaded: number;
  registered: boolean;
}

function validate(options: PlanOptions): void {
  const { profile, batchPrefix } = options;
  if (!BATCH_ID_PATTERN.test(batchPrefix)) {
    throw new PlanOptionsError('batchPrefix', batchPrefix, `must match ${String(BATCH_ID_PATTERN)}`);
  }
  if (batchPrefix.length > BATCH_ID_MAX_LENGTH - BATCH_SUFFIX_ROOM) {
    throw new PlanOptionsError(
      'batchPrefix',
      batchPrefix,
      `at most ${BATCH_ID_MAX_LENGTH - BATCH_SUFFIX_ROOM} characters, so batch ids and keys stay within ${BATCH_ID_MAX_LENGTH}`,
    );
  }
  const open = options.openBatches ?? DEFAULT_OPEN_BATCHES;
  if (!Number.isInteger(open) || open < 1) {
    throw new PlanOptionsError('openBatches', open, 'must be an integer ≥ 1');
  }
  const seed = options.seed ?? profile.seed;
  if (!Number.isInteger(seed)) throw new PlanOptionsError('seed', seed, 'must be an integer');
  const { sizeMin, sizeMax } = profile.batches;
  if (!Number.isInteger(sizeMin) || sizeMin < 1 || !Number.isInteger(sizeMax) || sizeMax < sizeMin) {
    throw new PlanOptionsError('profile.batches', profile.batches, 'needs integers 1 ≤ sizeMin ≤ sizeMax');
  }
  const { min, max } = profile.textBytes;
  if (!Number.isInteger(min) || min < 1 || !Number.isInteger(max) || max < min) {
    throw new PlanOptionsError('profile.textBytes', profile.textBytes, 'needs integers 1 ≤ min ≤ max');
  }
  for (const field of ['duplicateRatio', 'validationFailureRatio', 'registerFirstRatio'] as const) {
    const value = profile[field];
    if (value !== undefined && !(value >= 0 && value <= 1)) {
      throw new PlanOptionsError(`profile.${field}`, value, 'must be within [0, 1]');
    }
  }
}

/**
 * Generates the plan forward, one request per call. Requests are not kept (a run may have hundreds of
 * thousands), so `at(i)` only moves forward: a k6 VU, which sees increasing iteration numbers, keeps
 * one plan and advances it to each iteration it gets.
 */
export class RequestPlan {
  readonly batchPrefix: string;
  readonly seed: number;
  private readonly profile: PlanProfile;
  private readonly openTarget: number;
  private readonly random: () => number;
  private readonly open: OpenBatch[] = [];
  private readonly recentUploads: UploadRequest[] = [];
  private nextBatch = 0;
  private cursor = 0;

  constructor(options: PlanOptions) {
    validate(options);
    this.profile = options.profile;
    this.batchPrefix = options.batchPrefix;
    this.seed = options.seed ?? options.profile.seed;
    this.openTarget = options.openBatches ?? DEFAULT_OPEN_BATCHES;
    // The prefix is not part of the seed: two runs with the same seed differ only in their ids.
    this.random = mulberry32(hash32(`plan:${this.seed}`));
  }

  /** The iteration the next call to `next()` returns. */
  get position(): number {
    return this.cursor;
  }

  /** The request of iteration `iteration` (≥ the current position; earlier ones are gone). */
  at(iteration: number): PlannedRequest {
    if (!Number.isInteger(iteration) || iteration < this.cursor) {
      throw new RangeError(`plan is at iteration ${this.cursor}; cannot return iteration ${iteration}`);
    }
    while (this.cursor < iteration) this.next();
    return this.next();
  }

  next(): PlannedRequest {
    const iteration = this.cursor++;
    while (this.open.length < this.openTarget) this.open.push(this.openBatch());
    if (this.recentUploads.length > 0 && this.random() < this.profile.duplicateRatio) {
      const original = this.recentUploads[Math.floor(this.random() * this.recentUploads.length)]!;
      return { ...original, iteration, name: 'upload_duplicate', duplicateOf: original.iteration };
    }
    const slot = Math.floor(this.random() * this.open.length);
    const batch = this.open[slot]!;
    const request = this.step(batch, iteration);
    if (batch.registered && batch.uploaded === batch.size) this.open.splice(slot, 1);
    return request;
  }

  private openBatch(): OpenBatch {
    const { sizeMin, sizeMax } = this.profile.batches;
    const index = this.nextBatch++;
    const size = sizeMin + Math.floor(this.random() * (sizeMax - sizeMin + 1));
    const first = this.random() < (this.profile.registerFirstRatio ?? 1);
    const registerAfter = first ? 0 : 1 + Math.floor(this.random() * size);
    return { index, id: `${this.batchPrefix}-b${index}`, size, registerAfter, uploaded: 0, registered: false };
  }

  private step(batch: OpenBatch, iteration: number): PlannedRequest {
    const base = { iteration, batchId: batch.id, batchIndex: batch.index, essayCount: batch.size };
    if (!batch.registered && batch.uploaded === batch.registerAfter) {
      batch.registered = true;
      return { ...base, name: 'register', deadlineSeconds: this.profile.batches.deadlineSeconds };
    }
    const essayIndex = batch.uploaded++;
    const invalid = this.random() < this.profile.validationFailureRatio;
    const { min, max } = this.profile.textBytes;
    const length = min + Math.floor(this.random() * (max - min + 1));
    const upload: UploadRequest = {
      ...base,
      name: invalid ? 'upload_invalid' : 'upload',
      essayIndex,
      idempotencyKey: `${batch.id}-e${essayIndex}`,
      fileName: `essay-${essayIndex}.txt`,
      textLength: invalid ? 0 : length,
      invalid,
    };
    this.recentUploads.push(upload);
    if (this.recentUploads.length > DUPLICATE_WINDOW) this.recentUploads.shift();
    return upload;
  }
}

const WORDS =
  'the essay argues that careful evidence and clear structure matter more than length while a reader ' +
  'follows each claim through examples counterpoints and a conclusion that returns to the question asked ' +
  'students often revise drafts after feedback from peers and teachers which changes tone emphasis and order ';

/**
 * An essay's text: `textLength` ASCII bytes, the same for the same (batch, essay) — a duplicate carries
 * the byte-identical body of its original — and different across essays, so no two essays share a hash.
 */
export function essayText(request: UploadRequest): string {
  if (request.textLength === 0) return '';
  const head = `Essay ${request.essayIndex} of batch ${request.batchId}. `;
  let text = head;
  let offset = hash32(request.idempotencyKey) % WORDS.length;
  while (text.length < request.textLength) {
    const piece = WORDS.slice(offset) + WORDS.slice(0, offset);
    text += piece;
    offset = (offset + 7) % WORDS.length;
  }
  return text.slice(0, request.textLength);
}

/** The HTTP request for a planned request; `nowMs` anchors a registration's deadline. */
export function toHttp(request: PlannedRequest, nowMs: number): HttpRequestSpec {
  if (request.name === 'register') {
    const body: { batch_id: string; essay_count: number; deadline?: string } = {
      batch_id: request.batchId,
      essay_count: request.essayCount,
    };
    if (request.deadlineSeconds !== undefined) {
      body.deadline = new Date(nowMs + request.deadlineSeconds * 1000).toISOString();
    }
    return {
      method: 'POST',
      path: '/v1/batches',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    };
  }
  return {
    method: 'POST',
    // Batch ids are path-safe by their pattern; encoding ':' would only make the URL differ from k6's.
    path: `/v1/batches/${request.batchId}/contents`,
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': request.idempotencyKey },
    body: JSON.stringify({ original_file_name: request.fileName, text: essayText(request) }),
  };
}

/** What the issued prefix of a plan means for one batch. */
export interface BatchExpectation {
  readonly batchId: string;
  readonly batchIndex: number;
  /** The essay count its registration announces. */
  readonly essayCount: number;
  readonly registered: boolean;
  /** Distinct essays uploaded (duplicates not counted). */
  readonly uploadedEssays: number;
  /** Of those, invalid ones (the service reports them as validation failures). */
  readonly invalidEssays: number;
  readonly duplicates: number;
  /** Registered and every essay uploaded: the pipeline owes this batch one ready event. */
  readonly complete: boolean;
}

type MutableExpectation = { -readonly [K in keyof BatchExpectation]: BatchExpectation[K] };

/** Accumulates, request by request, what the issued requests mean for each batch. */
export class PlanLedger {
  private readonly byBatch = new Map<string, MutableExpectation>();
  private issued = 0;

  get issuedCount(): number {
    return this.issued;
  }

  record(request: PlannedRequest): void {
    this.issued++;
    let entry = this.byBatch.get(request.batchId);
    if (entry === undefined) {
      entry = {
        batchId: request.batchId,
        batchIndex: request.batchIndex,
        essayCount: request.essayCount,
        registered: false,
        uploadedEssays: 0,
        invalidEssays: 0,
        duplicates: 0,
        complete: false,
      };
      this.byBatch.set(request.batchId, entry);
    }
    if (request.name === 'register') entry.registered = true;
    else if (request.name === 'upload_duplicate') entry.duplicates++;
    else {
      entry.uploadedEssays++;
      if (request.invalid) entry.invalidEssays++;
    }
    entry.complete = entry.registered && entry.uploadedEssays === entry.essayCount;
  }

  /** Every batch touched so far, in batch order. */
  batches(): BatchExpectation[] {
    return [...this.byBatch.values()].map((e) => ({ ...e })).sort((a, b) => a.batchIndex - b.batchIndex);
  }
}

/** The expectations of the first `issued` iterations of a plan (a replay). */
export function planExpectations(options: PlanOptions, issued: number): BatchExpectation[] {
  const plan = new RequestPlan(options);
  const ledger = new PlanLedger();
  for (let i = 0; i < issued; i++) ledger.record(plan.next());
  return ledger.batches();
}
