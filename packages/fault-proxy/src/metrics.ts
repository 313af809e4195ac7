/**
 * Prometheus metrics for `GET /metrics`, in a registry of this server's own
 * (not prom-client's global one), so two servers in one process, or a host
 * application's metrics, never mix.
 *
 * The byte counters keep Toxiproxy's names and labels
 * (`toxiproxy_proxy_{received,sent}_bytes_total{direction,proxy,listener,upstream}`)
 * so its dashboards work; they count as data moves rather than when a
 * connection ends. The rest has no Toxiproxy counterpart and is prefixed
 * `fault_proxy_`.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ToxicStream, ToxicType } from './toxic.js';

export interface ProxyMetricsSource {
  readonly name: string;
  readonly enabled: boolean;
  readonly activeConnections: number;
  readonly toxics: readonly { readonly type: ToxicType; readonly stream: ToxicStream }[];
}

type ByteLabels = 'direction' | 'proxy' | 'listener' | 'upstream';

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly receivedBytes: Counter<ByteLabels>;
  readonly sentBytes: Counter<ByteLabels>;
  readonly connectionsOpened: Counter<'proxy'>;
  readonly connectionsClosed: Counter<'proxy'>;

  constructor(proxies: () => Iterable<ProxyMetricsSource>) {
    const registers = [this.registry];
    const byteLabels: ByteLabels[] = ['direction', 'proxy', 'listener', 'upstream'];
    this.receivedBytes = new Counter({
      name: 'toxiproxy_proxy_received_bytes_total',
      help: 'Bytes read from the peer that sends on this direction (upstream: the client; downstream: the upstream server).',
      labelNames: byteLabels,
      registers,
    });
    this.sentBytes = new Counter({
      name: 'toxiproxy_proxy_sent_bytes_total',
      help: 'Bytes written to the peer that receives on this direction, after toxics.',
      labelNames: byteLabels,
      registers,
    });
    this.connectionsOpened = new Counter({
      name: 'fault_proxy_connections_opened_total',
      help: 'Client connections accepted.',
      labelNames: ['proxy'],
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'fault_proxy_connections_closed_total',
      help: 'Client connections whose two sockets are both closed.',
      labelNames: ['proxy'],
      registers,
    });
    const active = new Gauge({
      name: 'fault_proxy_connections_active',
      help: 'Connections open now.',
      labelNames: ['proxy'],
      registers,
      collect() {
        active.reset();
        for (const p of proxies()) active.set({ proxy: p.name }, p.activeConnections);
      },
    });
    const enabled = new Gauge({
      name: 'fault_proxy_proxy_enabled',
      help: '1 while the proxy listens, 0 while it is disabled.',
      labelNames: ['proxy'],
      registers,
      collect() {
        enabled.reset();
        for (const p of proxies()) enabled.set({ proxy: p.name }, p.enabled ? 1 : 0);
      },
    });
    const toxics = new Gauge({
      name: 'fault_proxy_toxics_active',
      help: 'Toxics configured on the proxy, by type and stream.',
      labelNames: ['proxy', 'type', 'stream'],
      registers,
      collect() {
        toxics.reset();
        for (const p of proxies()) {
          for (const t of p.toxics) toxics.inc({ proxy: p.name, type: t.type, stream: t.stream });
        }
      },
    });
  }
}
