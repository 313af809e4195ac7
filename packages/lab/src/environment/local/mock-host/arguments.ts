/**
 * The control API's Kafka arguments: broker ids, error names or codes, API
 * names or keys, and librdkafka's results, each refused as the HTTP answer
 * that names the offending field.
 */
import {
  KAFKA_APIS,
  KAFKA_ERRORS,
  MAX_ERROR_CODE,
  MIN_ERROR_CODE,
  isKafkaApi,
  isKafkaErrorName,
} from '../../kafka-protocol.js';
import { HttpError, badField } from './http.js';
import type { Librdkafka } from './librdkafka.js';

/** librdkafka's names for every code it knows, so the control API also accepts those. */
export function librdkafkaErrorNames(rd: Librdkafka): Map<string, number> {
  const names = new Map<string, number>();
  for (let code = MIN_ERROR_CODE; code < 200; code++) {
    const name = rd.err2name(code);
    // Unknown codes come back as "ERR_<n>?"; only real names are worth accepting.
    if (name && !name.startsWith('ERR_')) names.set(name, code);
  }
  return names;
}

/** A librdkafka result: 0 passes; an error is a 500 (transport, or no field to blame), else a 409 or 400. */
export function check(rd: Librdkafka, op: string, err: number, field?: string, value?: unknown): void {
  if (err === 0) return;
  const name = rd.err2name(err);
  const message = `${op} failed: ${name} (${err})`;
  if (err === KAFKA_ERRORS._TRANSPORT || field === undefined) throw new HttpError(500, message, { code: err, name });
  throw new HttpError(name === 'TOPIC_ALREADY_EXISTS' ? 409 : 400, message, { code: err, name, field, value });
}

export function brokerId(brokers: readonly number[], raw: unknown, field: string, allowLeaderless: boolean): number {
  if (typeof raw === 'number' && (brokers.includes(raw) || (allowLeaderless && raw === -1))) return raw;
  const ids = brokers.join(', ');
  throw badField(field, raw, allowLeaderless ? `one of ${ids}, or -1 for no leader` : `one of ${ids}`);
}

export function errorCode(errorNames: ReadonlyMap<string, number>, raw: unknown, field: string): number {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= MIN_ERROR_CODE && raw <= MAX_ERROR_CODE) return raw;
  if (typeof raw === 'string') {
    if (isKafkaErrorName(raw)) return KAFKA_ERRORS[raw];
    const code = errorNames.get(raw) ?? errorNames.get(raw.replace(/^RD_KAFKA_RESP_ERR_/, ''));
    if (code !== undefined) return code;
  }
  throw badField(
    field,
    raw,
    `a Kafka error name (e.g. NOT_COORDINATOR) or an integer code from ${MIN_ERROR_CODE} to ${MAX_ERROR_CODE}`,
  );
}

export function apiKey(raw: unknown): number {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 32767) return raw;
  if (typeof raw === 'string' && isKafkaApi(raw)) return KAFKA_APIS[raw];
  throw badField('api', raw, `an API name (${Object.keys(KAFKA_APIS).join(', ')}) or an API key from 0 to 32767`);
}
