/**
 * The control API's routes: `GET /status`, `GET /metrics`, broker faults
 * under `/brokers/<id>/…`, and the cluster-wide ones (topics, leaders,
 * request errors, coordinators, topic errors). Every injected fault is
 * counted by kind; a refused request is answered with its HttpError.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MockHost } from './host.js';
import { HttpError, int, readBody, send } from './http.js';
import { say } from './stderr.js';

/** Answers one control request on `host`. */
export async function handle(host: MockHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method === 'GET' && (path === '/status' || path === '/')) return send(res, 200, host.status());
    if (method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': host.registry.contentType });
      res.end(await host.registry.metrics());
      return;
    }
    const broker = /^\/brokers\/([^/]+)\/(down|up|rtt|request-errors)$/.exec(path);
    const brokerIdOf = (m: RegExpExecArray) => {
      const idText = decodeURIComponent(m[1] ?? '');
      return host.brokerId(/^-?\d+$/.test(idText) ? Number(idText) : idText);
    };
    if (method === 'GET' && broker?.[2] === 'request-errors') {
      return send(res, 200, host.brokerErrorsPending(brokerIdOf(broker), url.searchParams.get('api') ?? undefined));
    }
    if (method !== 'POST') throw new HttpError(method === 'GET' ? 404 : 405, `no route ${method} ${path}`);
    const body = await readBody(req);
    if (broker) {
      const id = brokerIdOf(broker);
      if (broker[2] === 'request-errors')
        return send(res, 200, host.counted('request_errors', host.pushBrokerErrors(id, body)));
      if (broker[2] === 'rtt') {
        const r = host.setRtt(id, int(body, 'ms', 0, 60_000));
        host.countFault('rtt');
        return send(res, 200, r);
      }
      const r = await host.setDown(id, broker[2] === 'down');
      host.countFault(broker[2] === 'down' ? 'broker_down' : 'broker_up');
      return send(res, 200, r);
    }
    switch (path) {
      case '/topics':
        return send(res, 200, host.createTopic(body));
      case '/partitions/leader':
        return send(res, 200, host.counted('leader', host.setLeader(body)));
      case '/request-errors':
        return send(res, 200, host.counted('request_errors', host.pushErrors(body)));
      case '/coordinators':
        return send(res, 200, host.counted('coordinator', host.setCoordinator(body)));
      case '/topic-errors':
        return send(res, 200, host.counted('topic_error', host.setTopicError(body)));
      default:
        throw new HttpError(404, `no route ${method} ${path}`);
    }
  } catch (err) {
    if (err instanceof HttpError) return send(res, err.status, { error: err.message, ...err.extra });
    say(String((err as Error).stack ?? err));
    return send(res, 500, { error: String((err as Error).message ?? err) });
  }
}
