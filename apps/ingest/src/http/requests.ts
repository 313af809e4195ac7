/**
 * Request schemas and their translation into {@link RequestError}s. The
 * field schemas are taken from the event contracts, so a request accepted
 * here builds an event the contract accepts.
 */
import { z } from 'zod';
import { BatchRegisteredData, ContentProvisionedData, Id } from '@chaos-lab/contracts';
import { RequestError } from '../errors.js';

export const MAX_ESSAY_COUNT = 10_000;

export const RegisterBatchBody = z
  .object({
    batch_id: Id,
    essay_ids: BatchRegisteredData.shape.essay_ids.optional(),
    essay_count: z.number().int().min(1).max(MAX_ESSAY_COUNT).optional(),
    deadline: BatchRegisteredData.shape.deadline,
  })
  .strict();

export const UploadContentBody = z
  .object({
    original_file_name: ContentProvisionedData.shape.original_file_name,
    text: z.string(),
  })
  .strict();

/** A header's value, or a path parameter, with its name as the field. */
export const HeaderValue = z.string().min(1).max(200);

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * Validates `input` and returns it typed, or throws a RequestError for the
 * first problem. `field` prefixes paths (e.g. a header's name); without it a
 * body's top-level problem is reported on field `body`.
 */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, field?: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const join = (path: readonly PropertyKey[]) =>
    [field, ...path.map(String)].filter((p) => p !== undefined).join('.') || 'body';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const path = [...issue.path, key];
    return fail(join(path), valueAt(input, path), 'is not a known field');
  }
  const value = valueAt(input, issue.path);
  if (value === undefined) return fail(join(issue.path), value, 'is required');
  return fail(join(issue.path), value, issue.message);
}

function fail(field: string, value: unknown, problem: string): never {
  throw new RequestError(field, value, problem);
}

/** Resolves essay_ids / essay_count (exactly one must be given) to the list of essay ids. */
export function essayIdsOf(body: z.output<typeof RegisterBatchBody>): string[] {
  if ((body.essay_ids === undefined) === (body.essay_count === undefined)) {
    const both = body.essay_ids !== undefined;
    throw new RequestError(
      'essay_ids',
      both ? { essay_ids: body.essay_ids, essay_count: body.essay_count } : undefined,
      both ? 'give essay_ids or essay_count, not both' : 'exactly one of essay_ids and essay_count is required',
    );
  }
  if (body.essay_ids !== undefined) return body.essay_ids;
  const ids = Array.from({ length: body.essay_count! }, (_, i) => `${body.batch_id}-e${i}`);
  const longest = ids.at(-1)!;
  if (!Id.safeParse(longest).success) {
    throw new RequestError('batch_id', body.batch_id, `is too long to derive essay ids from (${longest.length} > 200)`);
  }
  return ids;
}
