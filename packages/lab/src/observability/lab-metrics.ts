/**
 * The lab's own metrics, served over HTTP for the environment's Prometheus
 * (job `lab`): which faults are active right now and which seed is running.
 * Dashboards draw fault windows from `lab_fault_active` over the
 * coordinators' throughput and errors, so a chaos run reads on one timeline
 * in Grafana as it does in the run report (which takes the windows from the
 * history instead: the history is the record, this is the live view).
 */
import { createServer, type Server } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LOOPBACK } from '../environment/local/launch.js';

export interface FaultLabels {
  readonly label: string;
  readonly kind: string;
  readonly target?: string;
}

export class LabMetricsServer {
  private readonly faultActive: Gauge<'fault' | 'kind' | 'target'>;
  private readonly seedRunning: Gauge<'suite' | 'seed'>;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly registry: Registry,
  ) {
    this.faultActive = new Gauge({
      name: 'lab_fault_active',
      help: 'A fault of the nemesis: 1 while active, 0 once ended',
      labelNames: ['fault', 'kind', 'target'],
      registers: [registry],
    });
    this.seedRunning = new Gauge({
      name: 'lab_seed_running',
      help: 'The seed being run: 1 while it runs, 0 after',
      labelNames: ['suite', 'seed'],
      registers: [registry],
    });
  }

  /** Starts the endpoint on a free loopback port. */
  static async start(): Promise<LabMetricsServer> {
    const registry = new Registry();
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      void registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    // Scrapes are the only clients; a kept-alive scrape connection must not hold the lab's exit.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, resolve);
    });
    collectDefaultMetrics({ register: registry, prefix: 'lab_' });
    return new LabMetricsServer(server, (server.address() as { port: number }).port, registry);
  }

  /** `host:port` to scrape. */
  get address(): string {
    return `${LOOPBACK}:${this.port}`;
  }

  fault(f: FaultLabels, active: boolean): void {
    this.faultActive.set({ fault: f.label, kind: f.kind, target: f.target ?? '' }, active ? 1 : 0);
  }

  seed(suite: string, seed: number, running: boolean): void {
    this.seedRunning.set({ suite, seed: String(seed) }, running ? 1 : 0);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
