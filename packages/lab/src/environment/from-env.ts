/** The environment's `LAB_*` variables, read at the edge and validated once. */
import { InvalidArgumentError } from '../errors.js';
import type { ProviderName } from './contract.js';

export function providerFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderName {
  const v = env.LAB_PROVIDER ?? 'local';
  if (v !== 'local' && v !== 'docker') throw new InvalidArgumentError('LAB_PROVIDER', v, 'one of "local", "docker"');
  return v;
}

/** `LAB_KAFKA_FETCH_FRONT`: `0`/`false` lets clients talk to librdkafka's mock brokers directly. */
export function fetchFrontFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LAB_KAFKA_FETCH_FRONT ?? '1';
  if (!['0', '1', 'true', 'false'].includes(v))
    throw new InvalidArgumentError('LAB_KAFKA_FETCH_FRONT', v, '1, 0, true or false');
  return v === '1' || v === 'true';
}

/** `LAB_PROMETHEUS`: `0`/`false` turns the environment's Prometheus off. */
export function prometheusFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LAB_PROMETHEUS ?? '1';
  if (!['0', '1', 'true', 'false'].includes(v))
    throw new InvalidArgumentError('LAB_PROMETHEUS', v, '1, 0, true or false');
  return v === '1' || v === 'true';
}
