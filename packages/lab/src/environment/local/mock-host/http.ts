/**
 * The control API's HTTP plumbing: reading a JSON body, validating its
 * fields, and answering in JSON — a refused request as its status, a message
 * and the offending field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

/** A request the host refuses, answered as JSON with the status and the offending field. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function badField(field: string, value: unknown, expectation: string): HttpError {
  return new HttpError(400, `${field}: ${expectation} (got ${JSON.stringify(value) ?? String(value)})`, {
    field,
    value: value === undefined ? null : value,
    expectation,
  });
}

export type Body = Record<string, unknown>;

export function int(body: Body, field: string, min: number, max: number, fallback?: number): number {
  const v = body[field];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badField(field, v, `an integer from ${min} to ${max}`);
  }
  return v;
}

export function str(body: Body, field: string, pattern?: RegExp, expectation = 'a non-empty string'): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '' || (pattern && !pattern.test(v))) throw badField(field, v, expectation);
  return v;
}

export async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badField('body', text.slice(0, 200), 'a JSON object');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badField('body', parsed, 'a JSON object');
  return parsed as Body;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
