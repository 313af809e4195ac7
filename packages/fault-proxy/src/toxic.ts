/**
 * Toxic definitions: the types Toxiproxy 2.x knows, their attributes, and the
 * parsing of create/update bodies with Toxiproxy's defaults (`stream`
 * downstream, `toxicity` 1, name `<type>_<stream>`, missing attributes 0) and
 * its error texts. A parsed toxic is an immutable value; a change is a new
 * value that replaces the old one in the proxy and in every open connection.
 */
import { BadRequestError, ToxicAlreadyExistsError } from './errors.js';

/** Attributes per toxic type, as Toxiproxy names them (times in ms unless noted). */
export interface ToxicAttributes {
  /** Delays every chunk by `latency` ± `jitter` ms, keeping order. */
  latency: { readonly latency: number; readonly jitter: number };
  /** Limits throughput to `rate` KB/s (1 KB = 1000 bytes); 0 = unlimited. */
  bandwidth: { readonly rate: number };
  /** Delays the close (FIN) by `delay` ms. */
  slow_close: { readonly delay: number };
  /** Drops all data and closes the connection after `timeout` ms; 0 = never closes. */
  timeout: { readonly timeout: number };
  /** Resets (TCP RST) the connection `timeout` ms after the first data; 0 = at once. */
  reset_peer: { readonly timeout: number };
  /** Slices data into chunks of `average_size` ± `size_variation` bytes, `delay` µs apart. */
  slicer: { readonly average_size: number; readonly size_variation: number; readonly delay: number };
  /** Closes the connection once `bytes` bytes have passed. */
  limit_data: { readonly bytes: number };
}

export type ToxicType = keyof ToxicAttributes;
export type ToxicStream = 'upstream' | 'downstream';
export const TOXIC_STREAMS: readonly ToxicStream[] = ['upstream', 'downstream'];

/** A toxic as the API shows it; `attributes` always lists every attribute of the type. */
export type Toxic = {
  [T in ToxicType]: {
    readonly name: string;
    readonly type: T;
    readonly stream: ToxicStream;
    /** Probability in [0, 1] that a connection gets this toxic (rolled per connection). */
    readonly toxicity: number;
    readonly attributes: ToxicAttributes[T];
  };
}[ToxicType];

/** The JSON Toxiproxy returns for a toxic, with its key order. */
export interface ToxicJson {
  attributes: Record<string, number>;
  name: string;
  type: ToxicType;
  stream: ToxicStream;
  toxicity: number;
}

interface AttributeSpec {
  readonly key: string;
  /** Go type of the field in Toxiproxy, used in its decoding error texts. */
  readonly goType: 'int64' | 'int';
  readonly min: number;
}

/** Per type: the Go struct (for error texts) and the attributes in Toxiproxy's order. */
const SPECS: {
  readonly [T in ToxicType]: { readonly goStruct: string; readonly attributes: readonly AttributeSpec[] };
} = {
  latency: {
    goStruct: 'LatencyToxic',
    attributes: [
      { key: 'latency', goType: 'int64', min: 0 },
      { key: 'jitter', goType: 'int64', min: 0 },
    ],
  },
  bandwidth: { goStruct: 'BandwidthToxic', attributes: [{ key: 'rate', goType: 'int64', min: 0 }] },
  slow_close: { goStruct: 'SlowCloseToxic', attributes: [{ key: 'delay', goType: 'int64', min: 0 }] },
  timeout: { goStruct: 'TimeoutToxic', attributes: [{ key: 'timeout', goType: 'int64', min: 0 }] },
  reset_peer: { goStruct: 'ResetToxic', attributes: [{ key: 'timeout', goType: 'int64', min: 0 }] },
  slicer: {
    goStruct: 'SlicerToxic',
    attributes: [
      // Toxiproxy recurses forever on an average size of 0; here it is refused.
      { key: 'average_size', goType: 'int', min: 1 },
      { key: 'size_variation', goType: 'int', min: 0 },
      { key: 'delay', goType: 'int', min: 0 },
    ],
  },
  limit_data: { goStruct: 'LimitDataToxic', attributes: [{ key: 'bytes', goType: 'int64', min: 0 }] },
};

export const TOXIC_TYPES = Object.keys(SPECS) as readonly ToxicType[];

function isToxicType(value: unknown): value is ToxicType {
  return typeof value === 'string' && Object.hasOwn(SPECS, value);
}

export function toxicToJson(toxic: Toxic): ToxicJson {
  return {
    attributes: { ...toxic.attributes },
    name: toxic.name,
    type: toxic.type,
    stream: toxic.stream,
    toxicity: toxic.toxicity,
  };
}

/**
 * Parses the body of `POST /proxies/{proxy}/toxics`. Checks run in
 * Toxiproxy's order (body, stream, type, duplicate name, attributes) so the
 * same bad request gets the same answer; `exists` tells whether a name is
 * taken on this proxy.
 */
export function parseToxicCreate(proxy: string, body: unknown, exists: (name: string) => boolean): Toxic {
  const input = expectObject(body, 'toxics.ToxicWrapper');
  const name = optionalField(input, 'name', 'string', 'ToxicWrapper') ?? '';
  const type = optionalField(input, 'type', 'string', 'ToxicWrapper') ?? '';
  const streamText = optionalField(input, 'stream', 'string', 'ToxicWrapper') ?? 'downstream';
  const toxicity = parseToxicity(input, 1);
  const stream = streamText.toLowerCase();
  if (stream !== 'upstream' && stream !== 'downstream') {
    throw new BadRequestError('stream was invalid, can be either upstream or downstream', 'stream', streamText);
  }
  const finalName = name === '' ? `${type}_${stream}` : name;
  if (!isToxicType(type)) throw new BadRequestError('invalid toxic type', 'type', type);
  if (exists(finalName)) throw new ToxicAlreadyExistsError(proxy, finalName);
  const attributes = parseAttributes(type, input.attributes, undefined);
  return { name: finalName, type, stream, toxicity, attributes } as Toxic;
}

/**
 * Parses the body of `POST|PATCH /proxies/{proxy}/toxics/{toxic}`: only
 * `attributes` (merged into the current ones) and `toxicity` change, as in
 * Toxiproxy; name, type and stream are fixed for a toxic's life.
 */
export function parseToxicUpdate(current: Toxic, body: unknown): Toxic {
  const input = expectObject(body, 'struct { Attributes interface {} "json:\\"attributes\\""; Toxicity float32 }');
  const toxicity = parseToxicity(input, current.toxicity);
  const attributes = parseAttributes(current.type, input.attributes, current.attributes);
  return { ...current, toxicity, attributes } as Toxic;
}

function parseToxicity(input: Record<string, unknown>, fallback: number): number {
  const value = optionalField(input, 'toxicity', 'number', 'ToxicWrapper');
  if (value === undefined) return fallback;
  if (!(value >= 0 && value <= 1)) {
    throw new BadRequestError(`bad request body: toxicity must be between 0 and 1 (got ${value})`, 'toxicity', value);
  }
  return value;
}

function parseAttributes<T extends ToxicType>(
  type: T,
  raw: unknown,
  current: ToxicAttributes[T] | undefined,
): ToxicAttributes[T] {
  const spec = SPECS[type];
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new BadRequestError(
      `bad request body: json: cannot unmarshal ${jsonKind(raw)} into Go struct field ToxicWrapper.attributes of type toxics.${spec.goStruct}`,
      'attributes',
      raw,
    );
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  const base = (current ?? {}) as Record<string, number>;
  const out: Record<string, number> = {};
  for (const attr of spec.attributes) {
    const value = given[attr.key];
    if (value === undefined || value === null) {
      out[attr.key] = base[attr.key] ?? 0;
      continue;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      const kind = typeof value === 'number' ? `number ${value}` : jsonKind(value);
      throw new BadRequestError(
        `bad request body: json: cannot unmarshal ${kind} into Go struct field ${spec.goStruct}.attributes.${attr.key} of type ${attr.goType}`,
        `attributes.${attr.key}`,
        value,
      );
    }
    if (value < attr.min) {
      throw new BadRequestError(
        `bad request body: attributes.${attr.key} must be an integer >= ${attr.min} (got ${value})`,
        `attributes.${attr.key}`,
        value,
      );
    }
    out[attr.key] = value;
  }
  return out as ToxicAttributes[T];
}

/** Go's name for a JSON value's kind, as its decoding errors print it. */
export function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

/** The body must be a JSON object; Go's decoder says which type it wanted. */
export function expectObject(body: unknown, goType: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError(
      `bad request body: json: cannot unmarshal ${jsonKind(body)} into Go value of type ${goType}`,
      'body',
      body,
    );
  }
  return body as Record<string, unknown>;
}

/** A top-level field of a JSON object; `null` and absent both mean "not given", as in Go. */
export function optionalField<K extends 'string' | 'number' | 'boolean'>(
  input: Record<string, unknown>,
  key: string,
  kind: K,
  goStruct: string,
): (K extends 'string' ? string : K extends 'number' ? number : boolean) | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== kind) {
    const goType = kind === 'string' ? 'string' : kind === 'number' ? 'float32' : 'bool';
    throw new BadRequestError(
      `bad request body: json: cannot unmarshal ${jsonKind(value)} into Go struct field ${goStruct}.${key} of type ${goType}`,
      key,
      value,
    );
  }
  return value as never;
}
