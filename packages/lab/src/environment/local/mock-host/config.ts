/**
 * The host's configuration: command-line options first, then the environment
 * (KAFKA_MOCK_BROKERS, KAFKA_MOCK_RTT_MS, KAFKA_MOCK_PORT, KAFKA_MOCK_LIBRDKAFKA,
 * KAFKA_MOCK_FETCH_FRONT, KAFKA_MOCK_PARENT_PID), then defaults. A setting out of range ends the host.
 */
import { parseArgs } from 'node:util';
import { fail } from './stderr.js';

const DEFAULT_LIB = 'librdkafka.so.1';

export interface HostConfig {
  brokers: number;
  rttMs: number;
  port: number;
  lib: string;
  /** Clients reach the brokers through fronts that answer a Fetch as a Kafka broker does (fetch-front.ts). */
  fetchFront: boolean;
  /**
   * The process whose death ends the host (`--parent-pid`, given by the lab that spawns it). Default: the
   * parent at the host's start — which is already someone else when the lab died while the host was loading.
   */
  parentPid: number;
}

function intSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    fail(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

export function readConfig(): HostConfig {
  let values: {
    brokers?: string;
    'rtt-ms'?: string;
    port?: string;
    lib?: string;
    'fetch-front'?: boolean;
    'parent-pid'?: string;
  };
  try {
    ({ values } = parseArgs({
      options: {
        brokers: { type: 'string' },
        'rtt-ms': { type: 'string' },
        port: { type: 'string' },
        lib: { type: 'string' },
        'fetch-front': { type: 'boolean' },
        'parent-pid': { type: 'string' },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    fail(String((err as Error).message));
  }
  const env = process.env;
  return {
    // The mock numbers brokers from 1; a handful is plenty for a lab, and a
    // cap keeps a typo from spawning thousands of broker threads.
    brokers: intSetting('brokers', values.brokers ?? env.KAFKA_MOCK_BROKERS, 3, 1, 32),
    rttMs: intSetting('rtt-ms', values['rtt-ms'] ?? env.KAFKA_MOCK_RTT_MS, 0, 0, 60_000),
    port: intSetting('port', values.port ?? env.KAFKA_MOCK_PORT, 0, 0, 65_535),
    lib: values.lib ?? env.KAFKA_MOCK_LIBRDKAFKA ?? DEFAULT_LIB,
    fetchFront: values['fetch-front'] ?? env.KAFKA_MOCK_FETCH_FRONT === '1',
    parentPid: intSetting('parent-pid', values['parent-pid'] ?? env.KAFKA_MOCK_PARENT_PID, process.ppid, 1, 2 ** 22),
  };
}
