/**
 * The coordinator's HTTP surface: liveness, readiness (every dependency
 * reachable), Prometheus metrics and a read-only batch status endpoint.
 * node:http is enough for four routes; a framework would add more than it saves.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Id } from '@chaos-lab/contracts';
import type { BatchView } from '../domain/ports.js';

export interface HttpDeps {
  readonly registry: Registry;
  /** Resolves to a map of dependency → error message (empty when everything is reachable). */
  readonly readiness: () => Promise<Record<string, string>>;
  readonly batch: (id: string) => Promise<BatchView | undefined>;
}

/** A request the server has not finished answering. */
export interface PendingRequest {
  readonly method: string;
  readonly path: string;
  readonly ageMs: number;
}

export interface StartedHttp {
  readonly server: Server;
  readonly port: number;
  /** The requests not yet answered, oldest first. */
  pending(): PendingRequest[];
  /**
   * Stops accepting connections and closes the idle ones; every answer from now on ends its connection.
   * Connections still busy after `graceMs` are closed too, and the requests they carried (never answered) are
   * returned as `forced`.
   */
  close(graceMs: number): Promise<{ forced: PendingRequest[] }>;
}

export async function startHttp(host: string, port: number, deps: HttpDeps): Promise<StartedHttp> {
  const inFlight = new Map<object, { method: string; path: string; since: number }>();
  let closing = false;
  const pending = () =>
    [...inFlight.values()]
      .sort((a, b) => a.since - b.since)
      .map((r) => ({ method: r.method, path: r.path, ageMs: Date.now() - r.since }));
  const server = createServer((req, res) => {
    const token = {};
    inFlight.set(token, { method: req.method ?? '?', path: (req.url ?? '/').slice(0, 200), since: Date.now() });
    res.once('close', () => inFlight.delete(token));
    const send = (status: number, body: unknown, type = 'application/json') => {
      // Once closing, every answer ends its connection: `server.close()` closes only the connections idle at
      // that moment, and a keep-alive client (Prometheus scraping every second) would otherwise go on sending
      // requests over a connection that was busy then, and hold the close for ever.
      res.writeHead(status, closing ? { 'content-type': type, connection: 'close' } : { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    void (async () => {
      try {
        if (req.method !== 'GET') return send(405, { error: `method ${req.method} not allowed` });
        if (url.pathname === '/healthz') return send(200, { status: 'ok' });
        if (url.pathname === '/readyz') {
          const problems = await deps.readiness();
          return send(Object.keys(problems).length === 0 ? 200 : 503, {
            ready: Object.keys(problems).length === 0,
            problems,
          });
        }
        if (url.pathname === '/metrics') return send(200, await deps.registry.metrics(), deps.registry.contentType);
        const m = /^\/v1\/batches\/([^/]+)$/.exec(url.pathname);
        if (m) {
          const id = decodeURIComponent(m[1]!);
          if (!Id.safeParse(id).success)
            return send(400, { error: `batch id ${JSON.stringify(id)} is not a valid id` });
          const view = await deps.batch(id);
          return view ? send(200, view) : send(404, { error: `batch ${id} is not registered` });
        }
        return send(404, { error: `no route for ${url.pathname}` });
      } catch (err) {
        send(503, { error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    pending,
    close: (graceMs) =>
      new Promise((resolve) => {
        closing = true;
        let forced: PendingRequest[] = [];
        const timer = setTimeout(() => {
          forced = pending();
          server.closeAllConnections();
        }, graceMs);
        // Closes the idle keep-alive connections at once; the callback waits for the busy ones.
        server.close(() => {
          clearTimeout(timer);
          resolve({ forced });
        });
      }),
  };
}
