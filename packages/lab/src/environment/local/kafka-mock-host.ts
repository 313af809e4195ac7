/**
 * Entry of the child process that hosts the lab's Kafka: librdkafka's mock
 * cluster, loaded through koffi, plus a small JSON control API on loopback
 * HTTP through which the lab injects faults.
 *
 * It runs in its own process (not inside the lab or a test worker) because
 * the mock cluster lives in librdkafka threads that only die with the
 * process: killing the host is the one reliable way to end every broker. For
 * the same reason the host ends itself when its parent disappears, so a
 * crashed lab never leaves brokers holding ports.
 *
 * Usage: node kafka-mock-host.js [--brokers N] [--rtt-ms MS] [--port P] [--lib PATH] [--parent-pid PID]
 * (or KAFKA_MOCK_BROKERS, KAFKA_MOCK_RTT_MS, KAFKA_MOCK_PORT, KAFKA_MOCK_LIBRDKAFKA, KAFKA_MOCK_PARENT_PID).
 * When ready it prints one JSON line on stdout:
 *   {"ready":true,"bootstrapServers":"127.0.0.1:P1,...","controlUrl":"http://127.0.0.1:P","brokers":[1,2,3]}
 *
 * `GET /metrics` serves the cluster's state for Prometheus: which brokers are
 * up, their added round-trip time, the faults injected so far by kind, and
 * the host process' own metrics. The mock exposes no broker-side counters
 * (bytes, requests), so these are what the lab set, not what the brokers saw.
 *
 * This file wires the parts in mock-host/: configuration (config.ts), the
 * librdkafka binding (librdkafka.ts), the cluster and its faults (host.ts,
 * arguments.ts, metrics.ts), the control API (http.ts, routes.ts) and the
 * process' life (lifecycle.ts). Its path is what kafka-mock.ts spawns.
 */
import { readConfig } from './mock-host/config.js';
import { MockHost } from './mock-host/host.js';
import { INSTALL_HINT, type Librdkafka, createMockCluster, loadLibrdkafka } from './mock-host/librdkafka.js';
import { serve } from './mock-host/lifecycle.js';
import { fail } from './mock-host/stderr.js';

const config = readConfig();

let rd: Librdkafka;
try {
  rd = await loadLibrdkafka(config.lib);
} catch (err) {
  const detail = String((err as Error).message ?? err).split('\n')[0];
  fail(`cannot load librdkafka (${config.lib}): ${detail}; ${INSTALL_HINT}`, 3);
}

const { rk, mc } = createMockCluster(rd, config.brokers);
const host = new MockHost(rd, rk, mc, config.brokers, config.rttMs);
if (config.fetchFront) {
  try {
    await host.startFronts();
  } catch (err) {
    host.destroy();
    fail(`fetch fronts: ${String((err as Error).message ?? err)}`, 4);
  }
}

serve(host, config.port, config.parentPid);
