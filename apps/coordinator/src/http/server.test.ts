/**
 * The HTTP surface's shutdown: `server.close()` alone waits for every busy connection, so one request that
 * never ends (a readiness check behind a stuck dependency, a client that sends half a request) held a
 * coordinator's whole shutdown to its 10 s deadline and exit status 1. Real sockets on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { startHttp, type StartedHttp } from './server.js';

const started: StartedHttp[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const h of started.splice(0)) h.server.closeAllConnections();
});

async function serve(readiness: () => Promise<Record<string, string>>): Promise<StartedHttp> {
  const h = await startHttp('127.0.0.1', 0, { registry: new Registry(), readiness, batch: async () => undefined });
  started.push(h);
  return h;
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens a connection and writes `text` on it, nothing more. */
async function send(port: number, text: string): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  sockets.push(s);
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(text);
  return s;
}

describe('the HTTP step of a shutdown', () => {
  it('closes at once when nothing is in flight, idle keep-alive connections included', async () => {
    const h = await serve(async () => ({}));
    const s = await send(h.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await new Promise<void>((r) => s.once('data', () => r()));
    expect(h.pending()).toEqual([]);
    const t0 = Date.now();
    expect(await h.close(5000)).toEqual({ forced: [] });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('waits for a request in flight to be answered, then closes its keep-alive connection', async () => {
    let answer!: () => void;
    const h = await serve(() => new Promise((r) => (answer = () => r({})))); // readiness answers when told
    const s = await send(h.port, 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await until(() => h.pending().length === 1);
    const t0 = Date.now();
    const closing = h.close(5000);
    setTimeout(() => answer(), 200);
    const reply = new Promise<string>((r) => s.once('data', (d) => r(String(d))));
    // Answered, then the connection ends with the answer: the close does not wait for the grace.
    expect(await closing).toEqual({ forced: [] });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(await reply).toMatch(/^HTTP\/1.1 200[^]*\r\nconnection: close\r\n/i);
  });

  it('does not let a keep-alive client that goes on asking hold the close (Prometheus scrapes every second)', async () => {
    const h = await serve(async () => {
      await new Promise((r) => setTimeout(r, 100));
      return {};
    });
    const s = await send(h.port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    let replies = 0;
    // A scraper: every answer is followed by the next request on the same connection, as long as it is open.
    s.on('data', () => {
      replies++;
      if (!s.destroyed) s.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    await until(() => h.pending().length === 1);
    const t0 = Date.now();
    expect(await h.close(5000)).toEqual({ forced: [] });
    expect(Date.now() - t0).toBeLessThan(2500);
    // The client sees one answer, then its connection end.
    await until(() => s.readableEnded || s.destroyed);
    expect(replies).toBe(1);
  });

  it('closes after the grace the connections of requests that never end, and names them', async () => {
    const h = await serve(() => new Promise(() => {})); // a readiness check that never answers
    await send(h.port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    await send(h.port, 'GET /metr'); // half a request: not idle, not a request yet
    await until(() => h.pending().length === 1);
    expect(h.pending()).toEqual([{ method: 'GET', path: '/readyz', ageMs: expect.any(Number) }]);
    const t0 = Date.now();
    const { forced } = await h.close(300);
    const took = Date.now() - t0;
    expect(forced.map((p) => `${p.method} ${p.path}`)).toEqual(['GET /readyz']);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2000);
    await until(() => h.pending().length === 0); // its response closed with the connection
  });
});
