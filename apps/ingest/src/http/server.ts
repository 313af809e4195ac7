/**
 * The HTTP surface, on fastify: the two write routes, liveness, readiness and
 * metrics. Fastify earns its place over node:http here by doing what would
 * otherwise be hand-written and easy to get subtly wrong: route patterns
 * with parameters (which the metrics label by pattern), a body size limit
 * enforced while the body streams in, content-type dispatch to a parser, one
 * error handler for every failure, and lifecycle hooks that see every reply
 * (including 404s and parser errors) to count and time it. `close()` stops
 * accepting connections and waits for requests in flight.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Id } from '@chaos-lab/contracts';
import { ConflictError, DependencyError, RequestError, echoValue } from '../errors.js';
import type { Ingest } from '../domain/ingest.js';
import type { Metrics } from '../metrics.js';
import { HeaderValue, RegisterBatchBody, UploadContentBody, essayIdsOf, parseRequest } from './requests.js';

export interface HttpDeps {
  readonly ingest: Ingest;
  readonly metrics: Metrics;
  /** Resolves to a map of dependency → problem (empty when everything is reachable). */
  readonly readiness: () => Promise<Record<string, string>>;
  readonly maxBodyBytes: number;
  readonly log: Logger;
}

/** Methods answered with 405 on a known path (others are unknown to the router and get 404). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

class MethodNotAllowed extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly allow: readonly string[],
  ) {
    super(`method ${method} is not allowed on ${url}; allowed: ${allow.join(', ')}`);
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

function optionalHeader(req: FastifyRequest, name: string): string | undefined {
  const v = header(req, name);
  return v === undefined ? undefined : parseRequest(HeaderValue, v, name);
}

export function buildApp(deps: HttpDeps): FastifyInstance {
  const { ingest, metrics, log } = deps;
  const app = Fastify({ logger: false, bodyLimit: deps.maxBodyBytes, return503OnClosing: true });

  // Our own JSON parser: a syntax error names the body and echoes the start of it.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(new RequestError('body', text, 'is empty; a JSON object is required'));
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new RequestError('body', text, `is not valid JSON (${(err as Error).message})`));
    }
  });

  // close() reaps idle keep-alive sockets once, when it starts; a request in flight then would leave its
  // socket open (idle) for the keep-alive timeout and hold the shutdown. Its reply closes the socket instead.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  const routes: { url: string; methods: readonly Method[] }[] = [];
  const route = (
    method: 'GET' | 'POST',
    url: string,
    handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) => {
    app.route({ method, url, handler });
    routes.push({ url, methods: method === 'GET' ? ['GET', 'HEAD'] : [method] });
  };

  route('POST', '/v1/batches', async (req, reply) => {
    const body = parseRequest(RegisterBatchBody, req.body);
    const essayIds = essayIdsOf(body);
    const r = await ingest.registerBatch({
      batchId: body.batch_id,
      essayIds,
      deadline: body.deadline,
      correlationId: optionalHeader(req, 'X-Correlation-Id') ?? randomUUID(),
    });
    return reply.code(202).send({ batch_id: r.batchId, event_id: r.eventId, essay_ids: r.essayIds });
  });

  route('POST', '/v1/batches/:batch_id/contents', async (req, reply) => {
    const batchId = parseRequest(Id, (req.params as { batch_id: string }).batch_id, 'batch_id');
    const idempotencyKey = optionalHeader(req, 'Idempotency-Key');
    const correlationId = optionalHeader(req, 'X-Correlation-Id') ?? randomUUID();
    const body = parseRequest(UploadContentBody, req.body);
    const r = await ingest.uploadContent({
      batchId,
      originalFileName: body.original_file_name,
      text: body.text,
      idempotencyKey,
      correlationId,
    });
    return reply
      .code(202)
      .send(
        r.outcome === 'provisioned'
          ? { outcome: r.outcome, text_storage_id: r.textStorageId, event_id: r.eventId }
          : { outcome: r.outcome, reason: r.reason, event_id: r.eventId, text_storage_id: r.textStorageId },
      );
  });

  route('GET', '/healthz', async () => ({ status: 'ok' }));

  route('GET', '/readyz', async (_req, reply) => {
    const problems = await deps.readiness();
    const ready = Object.keys(problems).length === 0;
    return reply.code(ready ? 200 : 503).send({ ready, problems });
  });

  route('GET', '/metrics', async (_req, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  for (const { url, methods } of routes) {
    const others = METHODS.filter((m) => !methods.includes(m));
    app.route({
      method: others,
      url,
      handler: async (req) => {
        throw new MethodNotAllowed(req.method, url, methods);
      },
    });
  }

  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }),
  );

  app.setErrorHandler(async (err: FastifyError | Error, req, reply) => {
    if (err instanceof RequestError) {
      return reply.code(err.status).send({ error: err.message, field: err.field, value: err.value });
    }
    if (err instanceof ConflictError) {
      return reply.code(409).send({
        error: err.message,
        [err.resource === 'batch' ? 'batch_id' : 'text_storage_id']: err.id,
        differences: err.differences,
      });
    }
    if (err instanceof DependencyError) {
      log.warn(
        { dependency: err.dependency, err: err.message, route: req.routeOptions.url },
        'request failed on a dependency',
      );
      return reply.code(503).send({ error: err.message, retriable: true });
    }
    if (err instanceof MethodNotAllowed) {
      return reply.code(405).header('allow', err.allow.join(', ')).send({ error: err.message });
    }
    const code = 'code' in err ? err.code : undefined;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const length = header(req, 'content-length');
      return reply.code(413).send({
        error: `body: is larger than the limit of ${deps.maxBodyBytes} bytes`,
        field: 'body',
        value: length === undefined ? null : `${length} bytes`,
      });
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const type = header(req, 'content-type');
      return reply.code(415).send({
        error: 'content-type: must be application/json',
        field: 'content-type',
        value: echoValue(type),
      });
    }
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500)
      return reply.code(status).send({ error: err.message, field: 'request', value: null });
    log.error({ err: err.message, stack: err.stack, route: req.routeOptions.url }, 'request failed');
    return reply.code(500).send({ error: err.message });
  });

  return app;
}
