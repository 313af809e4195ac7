/**
 * A stand-in for the ingest service in tests: node:http, answers 202 after a configurable delay and
 * records what it received. Not exported from the package.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly body: string;
}

export interface TestServer extends AsyncDisposable {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Milliseconds each answer waits; change it while running. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startTestServer(options: { delayMs?: number; status?: number } = {}): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const state = { delayMs: options.delayMs ?? 0 };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const key = req.headers['idempotency-key'];
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        idempotencyKey: typeof key === 'string' ? key : undefined,
        body,
      });
      const answer = (): void => {
        const text = (JSON.parse(body) as { text?: string }).text;
        const outcome = text === '' ? 'validation_failed' : 'provisioned';
        res.writeHead(options.status ?? 202, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ outcome }));
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  };
  const server = createServer({ keepAliveTimeout: 30_000 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('test server has no port');
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
