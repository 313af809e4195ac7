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

export async function startHttp(host: string, port: number, deps: HttpDeps): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
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
  return { server, port: (server.address() as AddressInfo).port };
}
