/**
 * Toxiproxy 2.x's HTTP API over node:http: the same routes, methods, status
 * codes, JSON shapes and error texts, so `toxiproxy-node-client`, the
 * testcontainers Toxiproxy module or `toxiproxy-cli` drive this server as they
 * would drive Toxiproxy. Requests that change state run one at a time (as
 * under Toxiproxy's collection lock), so a proxy is never half-created when
 * the next request looks at it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError, ToxicNotFoundError, ToxiproxyApiError } from './errors.js';
import type { ProxyMetrics } from './metrics.js';
import { parsePopulateInput, parseProxyInput, type ProxyCollection } from './proxy-collection.js';
import { expectObject, toxicToJson } from './toxic.js';

/** The Toxiproxy release whose API this server follows; `GET /version` reports it. */
export const TOXIPROXY_API_VERSION = '2.12.0';

const MAX_BODY_BYTES = 1024 * 1024;

type Handler = (request: ApiRequest) => Promise<Reply> | Reply;

interface ApiRequest {
  readonly params: readonly string[];
  /** The body parsed as JSON; throws Toxiproxy's `bad request body: …` when it is not. */
  json(): unknown;
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Sent as is instead of JSON. */
  readonly text?: string;
  readonly contentType?: string;
}

interface Route {
  readonly pattern: RegExp;
  /** Handlers by method; `*` answers any method. */
  readonly methods: Readonly<Record<string, { handler: Handler; mutates: boolean }>>;
}

export class ToxiproxyApi {
  private readonly routes: Route[];
  /** Tail of the chain that serialises state-changing requests. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly proxies: ProxyCollection,
    private readonly metrics: ProxyMetrics,
  ) {
    const read = (handler: Handler) => ({ handler, mutates: false });
    const write = (handler: Handler) => ({ handler, mutates: true });
    const name = '([^/]+)';
    this.routes = [
      { pattern: /^\/reset$/, methods: { POST: write(() => this.reset()) } },
      {
        pattern: /^\/proxies$/,
        methods: { GET: read(() => this.listProxies()), POST: write((r) => this.createProxy(r)) },
      },
      { pattern: /^\/populate$/, methods: { POST: write((r) => this.populate(r)) } },
      {
        pattern: new RegExp(`^/proxies/${name}$`),
        methods: {
          GET: read((r) => ({ status: 200, body: this.proxy(r).toJSON() })),
          POST: write((r) => this.updateProxy(r)),
          PATCH: write((r) => this.updateProxy(r)),
          DELETE: write((r) => this.deleteProxy(r)),
        },
      },
      {
        pattern: new RegExp(`^/proxies/${name}/toxics$`),
        methods: {
          GET: read((r) => ({ status: 200, body: this.proxy(r).toxicsJson() })),
          // Toxiproxy answers a created toxic with 200, not 201.
          POST: write((r) => ({ status: 200, body: toxicToJson(this.proxy(r).addToxic(r.json())) })),
        },
      },
      {
        pattern: new RegExp(`^/proxies/${name}/toxics/${name}$`),
        methods: {
          GET: read((r) => this.showToxic(r)),
          POST: write((r) => this.updateToxic(r)),
          PATCH: write((r) => this.updateToxic(r)),
          DELETE: write((r) => this.deleteToxic(r)),
        },
      },
      {
        pattern: /^\/version$/,
        methods: {
          GET: read(() => ({
            status: 200,
            // Toxiproxy ≥ 2.7 answers JSON here (clients read it as text).
            text: `{"version": "${TOXIPROXY_API_VERSION}"}\n`,
            contentType: 'application/json;charset=utf-8',
          })),
        },
      },
      { pattern: /^\/metrics$/, methods: { '*': read(() => this.metricsText()) } },
    ];
  }

  /** node:http request listener. Never rejects: every failure becomes a response. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.dispatch(req);
    } catch (err) {
      reply = errorReply(err);
    }
    send(res, reply);
  }

  private async dispatch(req: IncomingMessage): Promise<Reply> {
    // Toxiproxy refuses browsers so that a web page cannot drive the API (CSRF).
    if (req.headers['user-agent']?.startsWith('Mozilla/')) {
      return { status: 403, text: 'User agent not allowed\n', contentType: 'text/plain; charset=utf-8' };
    }
    // Not `new URL()`: a path like `//proxies` would be read as a host name.
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      const entry = route.methods[req.method ?? 'GET'] ?? route.methods['*'];
      if (!entry) return { status: 405, text: '' };
      const params = match.slice(1).map(decodeSegment);
      const raw = await readBody(req);
      const request: ApiRequest = { params, json: () => parseJson(raw) };
      if (!entry.mutates) return entry.handler(request);
      const run = this.queue.then(() => entry.handler(request));
      this.queue = run.catch(() => undefined);
      return run;
    }
    return { status: 404, text: '404 page not found\n', contentType: 'text/plain; charset=utf-8' };
  }

  private proxy(request: ApiRequest) {
    return this.proxies.get(request.params[0] ?? '');
  }

  private listProxies(): Reply {
    const body: Record<string, unknown> = {};
    for (const proxy of this.proxies.list()) body[proxy.name] = proxy.toJSON();
    return { status: 200, body };
  }

  private async createProxy(request: ApiRequest): Promise<Reply> {
    const input = parseProxyInput(request.json(), { listen: '', upstream: '', enabled: true });
    const proxy = await this.proxies.add(input);
    return { status: 201, body: proxy.toJSON() };
  }

  private async populate(request: ApiRequest): Promise<Reply> {
    let inputs;
    try {
      inputs = parsePopulateInput(request.json());
    } catch (err) {
      if (!(err instanceof ToxiproxyApiError)) throw err;
      return { status: err.status, body: { error: err.message, status: err.status, proxies: [] } };
    }
    const { proxies, error } = await this.proxies.populate(inputs);
    const list = proxies.map((p) => p.toJSON());
    if (error) return { status: error.status, body: { error: error.message, status: error.status, proxies: list } };
    return { status: 201, body: { proxies: list } };
  }

  private async updateProxy(request: ApiRequest): Promise<Reply> {
    const proxy = this.proxy(request);
    const input = expectObject(request.json(), 'toxiproxy.Proxy');
    // Fields left out keep their current values; a name in the body is ignored (renaming is delete + create).
    const settings = parseProxyInput(
      { ...input, name: proxy.name },
      { listen: proxy.listen, upstream: proxy.upstream, enabled: proxy.enabled },
    );
    await proxy.update(settings);
    return { status: 200, body: proxy.toJSON() };
  }

  private async deleteProxy(request: ApiRequest): Promise<Reply> {
    await this.proxies.remove(request.params[0] ?? '');
    return { status: 204 };
  }

  private showToxic(request: ApiRequest): Reply {
    const proxy = this.proxy(request);
    const name = request.params[1] ?? '';
    const toxic = proxy.findToxic(name);
    if (!toxic) throw new ToxicNotFoundError(proxy.name, name);
    return { status: 200, body: toxicToJson(toxic) };
  }

  private updateToxic(request: ApiRequest): Reply {
    const proxy = this.proxy(request);
    return { status: 200, body: toxicToJson(proxy.updateToxic(request.params[1] ?? '', request.json())) };
  }

  private deleteToxic(request: ApiRequest): Reply {
    this.proxy(request).removeToxic(request.params[1] ?? '');
    return { status: 204 };
  }

  private async reset(): Promise<Reply> {
    await this.proxies.reset();
    return { status: 204 };
  }

  private async metricsText(): Promise<Reply> {
    return { status: 200, text: await this.metrics.registry.metrics(), contentType: this.metrics.registry.contentType };
  }
}

/** Toxiproxy's error body: `{"error": "...", "status": N}`. Anything unexpected is a 500 with its message, as there. */
function errorReply(err: unknown): Reply {
  if (err instanceof ToxiproxyApiError) return { status: err.status, body: { error: err.message, status: err.status } };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: message, status: 500 } };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  if (reply.body !== undefined) {
    res.writeHead(reply.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  } else if (reply.text !== undefined && reply.text !== '') {
    res.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'text/plain; charset=utf-8' });
    res.end(reply.text);
  } else {
    res.writeHead(reply.status);
    res.end();
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new BadRequestError(`bad request body: larger than ${MAX_BODY_BYTES} bytes`, 'body');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Go's decoder reports an empty body as `EOF`; the texts after that are JavaScript's own. */
function parseJson(raw: string): unknown {
  if (raw.trim() === '') throw new BadRequestError('bad request body: EOF', 'body', raw);
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new BadRequestError(`bad request body: ${(err as Error).message}`, 'body', raw);
  }
}

/** Path segments are matched decoded, as gorilla/mux does; a malformed escape simply names nothing. */
function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    return segment ?? '';
  }
}
