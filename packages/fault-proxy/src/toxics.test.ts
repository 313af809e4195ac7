/**
 * Each toxic's effect on real traffic: a client, the proxy, an echo server,
 * all on loopback, toxics set through toxiproxy-node-client. Lower bounds on
 * time are strict (a toxic must never be faster than configured); upper
 * bounds are loose, because two cores are shared with other test files.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Toxiproxy, type ICreateToxicBody, type Proxy } from 'toxiproxy-node-client';
import { startFaultProxy, type StartedFaultProxy, type ToxicAttributes, type ToxicType } from './index.js';
import { portOf, sleep, startEchoServer, TestClient, type EchoServer } from './test-helpers.js';

let seq = 0;

interface Setup extends AsyncDisposable {
  readonly server: StartedFaultProxy;
  readonly echo: EchoServer;
  readonly proxy: Proxy;
  readonly port: number;
  addToxic<T extends ToxicType>(
    type: T,
    attributes: Partial<ToxicAttributes[T]>,
    extra?: { stream?: 'upstream' | 'downstream'; toxicity?: number; name?: string },
  ): Promise<string>;
}

/** A fault proxy with one proxy in front of an echo server. */
async function setup(onEchoConnection?: Parameters<typeof startEchoServer>[0]): Promise<Setup> {
  const server = await startFaultProxy();
  const echo = await startEchoServer(onEchoConnection);
  const toxiproxy = new Toxiproxy(server.url);
  const proxy = await toxiproxy.createProxy({
    name: `toxic_${process.pid}_${++seq}`,
    listen: '127.0.0.1:0',
    upstream: echo.address,
  });
  return {
    server,
    echo,
    proxy,
    port: portOf(proxy.listen),
    async addToxic(type, attributes, extra = {}) {
      const body = { type, attributes, ...extra } as unknown as ICreateToxicBody<unknown>;
      return (await proxy.addToxic(body)).name;
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      await echo.close();
    },
  };
}

async function medianRoundTrip(client: TestClient, times: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await client.roundTrip(`ping-${i}`, 3_000));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? NaN;
}

describe('toxics on real traffic', { timeout: 10_000 }, () => {
  it('latency delays every round trip by at least the configured time, on each stream', async () => {
    await using env = await setup();
    await using client = await TestClient.connect(env.port);
    const base = await medianRoundTrip(client, 5);
    expect(base).toBeLessThan(50);

    await env.addToxic('latency', { latency: 100 });
    for (let i = 0; i < 3; i++) {
      const rtt = await client.roundTrip(`slow-${i}`, 3_000);
      expect(rtt).toBeGreaterThanOrEqual(100);
      expect(rtt).toBeLessThan(400);
    }
    await env.addToxic('latency', { latency: 60 }, { stream: 'upstream' });
    expect(await client.roundTrip('both', 3_000)).toBeGreaterThanOrEqual(160);
  });

  it('latency with jitter keeps byte order', async () => {
    await using env = await setup();
    await env.addToxic('latency', { latency: 20, jitter: 19 });
    await using client = await TestClient.connect(env.port);
    const parts = Array.from({ length: 60 }, (_, i) => `<${i}>`);
    for (const part of parts) {
      client.write(part);
      await sleep(1);
    }
    const expected = parts.join('');
    expect((await client.waitForBytes(expected.length, 5_000)).toString()).toBe(expected);
  });

  it('bandwidth limits throughput to about the rate', async () => {
    await using env = await setup();
    await env.addToxic('bandwidth', { rate: 100 }); // 100 KB/s = 100 bytes/ms
    await using client = await TestClient.connect(env.port);
    const payload = Buffer.alloc(50_000, 7);
    const started = performance.now();
    client.write(payload);
    await client.waitForBytes(payload.length, 5_000);
    const elapsed = performance.now() - started;
    // 50 000 bytes at 100 bytes/ms: 500 ms.
    expect(elapsed).toBeGreaterThanOrEqual(480);
    expect(elapsed).toBeLessThan(1_500);
    expect(client.received.equals(payload)).toBe(true);
  });

  it('timeout drops data and closes the connection after the timeout', async () => {
    await using env = await setup();
    await env.addToxic('timeout', { timeout: 300 });
    await using client = await TestClient.connect(env.port);
    client.write('anyone there?');
    const ending = await client.waitForClose(3_000);
    expect(client.received.length).toBe(0);
    expect(ending.atMs).toBeGreaterThanOrEqual(299);
    expect(ending.atMs).toBeLessThan(1_500);
  });

  it('timeout 0 holds the connection open and passes nothing', async () => {
    await using env = await setup();
    await env.addToxic('timeout', { timeout: 0 }, { stream: 'upstream' });
    await using client = await TestClient.connect(env.port);
    client.write('hello?');
    await sleep(600);
    expect(client.received.length).toBe(0);
    expect(client.socket.destroyed).toBe(false);
    expect(client.socket.readableEnded).toBe(false);
  });

  it('deleting a timeout toxic closes the connections it stalled, as in Toxiproxy', async () => {
    await using env = await setup();
    const name = await env.addToxic('timeout', { timeout: 0 });
    await using client = await TestClient.connect(env.port);
    await sleep(50);
    await (await env.proxy.getToxic(name)).remove();
    await client.waitForClose(2_000);
  });

  it('reset_peer with timeout 0 resets the connection on the first data', async () => {
    await using env = await setup();
    await env.addToxic('reset_peer', { timeout: 0 }, { stream: 'upstream' });
    await using client = await TestClient.connect(env.port);
    await sleep(100);
    expect(client.socket.destroyed).toBe(false);
    client.write('boom');
    const ending = await client.waitForClose(2_000);
    expect(ending.errorCode).toBe('ECONNRESET');
    expect(client.received.length).toBe(0);
  });

  it('reset_peer with a timeout resets that long after the first data', async () => {
    await using env = await setup();
    await env.addToxic('reset_peer', { timeout: 200 }, { stream: 'upstream' });
    await using client = await TestClient.connect(env.port);
    const wrote = performance.now() - client.connectedAt;
    client.write('boom later');
    const ending = await client.waitForClose(2_000);
    expect(ending.errorCode).toBe('ECONNRESET');
    expect(ending.atMs - wrote).toBeGreaterThanOrEqual(195);
  });

  it('slicer delivers the data intact in many small chunks', async () => {
    await using env = await setup();
    await env.addToxic('slicer', { average_size: 10, size_variation: 4, delay: 5_000 });
    await using client = await TestClient.connect(env.port);
    const payload = Buffer.from(Array.from({ length: 150 }, (_, i) => 65 + (i % 26)));
    client.write(payload);
    await client.waitForBytes(payload.length, 3_000);
    expect(client.received.equals(payload)).toBe(true);
    // About 15 slices 5 ms apart. A stalled event loop on a busy machine can
    // merge a few of them on the way in, so look at the count and the median.
    expect(client.chunks.length).toBeGreaterThanOrEqual(6);
    const sizes = client.chunks.map((c) => c.data.length).sort((a, b) => a - b);
    expect(sizes[Math.floor(sizes.length / 2)]).toBeLessThanOrEqual(14);
  });

  it('limit_data passes exactly the limit, then closes', async () => {
    await using env = await setup();
    await env.addToxic('limit_data', { bytes: 100 });
    await using client = await TestClient.connect(env.port);
    client.write(Buffer.alloc(300, 1));
    const ending = await client.waitForClose(2_000);
    expect(client.received.length).toBe(100);
    expect(ending.gotEnd).toBe(true);
  });

  it('slow_close delays the close by the configured time', async () => {
    await using env = await setup();
    await env.addToxic('slow_close', { delay: 300 });
    await using client = await TestClient.connect(env.port);
    await client.roundTrip('data passes at once', 2_000);
    const ended = performance.now() - client.connectedAt;
    client.socket.end();
    const ending = await client.waitForClose(2_000);
    expect(ending.gotEnd).toBe(true);
    expect(ending.atMs - ended).toBeGreaterThanOrEqual(299);
  });

  it('a half-close passes through without toxics: the response after the FIN still arrives', async () => {
    await using env = await setup((socket) => {
      const parts: Buffer[] = [];
      socket.on('data', (d: Buffer) => parts.push(d));
      socket.on('end', () => socket.end(Buffer.concat(parts).toString().toUpperCase()));
    });
    await using client = await TestClient.connect(env.port);
    client.socket.end('request');
    await client.waitForClose(2_000);
    expect(client.received.toString()).toBe('REQUEST');
  });

  it('toxicity 0 means no effect; toxicity 1 always applies', async () => {
    await using env = await setup();
    await env.addToxic('latency', { latency: 300 }, { toxicity: 0 });
    await using client = await TestClient.connect(env.port);
    expect(await medianRoundTrip(client, 3)).toBeLessThan(150);
    await env.addToxic('latency', { latency: 100 }, { toxicity: 1, name: 'always' });
    expect(await client.roundTrip('now slow', 3_000)).toBeGreaterThanOrEqual(100);
  });

  it('adding, updating and removing a toxic takes effect on an open connection', async () => {
    await using env = await setup();
    await using client = await TestClient.connect(env.port);
    expect(await medianRoundTrip(client, 3)).toBeLessThan(50);

    const name = await env.addToxic('latency', { latency: 150 });
    expect(await client.roundTrip('added', 3_000)).toBeGreaterThanOrEqual(150);

    const toxic = await env.proxy.getToxic(name);
    await toxic.update({ ...toxic.toJson(), attributes: { latency: 60, jitter: 0 } });
    const updated = await client.roundTrip('updated', 3_000);
    expect(updated).toBeGreaterThanOrEqual(60);
    expect(updated).toBeLessThan(150);

    await toxic.remove();
    expect(await medianRoundTrip(client, 3)).toBeLessThan(50);
  });

  it('removing a latency toxic delivers what it held at once and in order', async () => {
    await using env = await setup();
    const name = await env.addToxic('latency', { latency: 2_000 });
    await using client = await TestClient.connect(env.port);
    client.write('first,');
    await sleep(50);
    client.write('second');
    await sleep(100);
    expect(client.received.length).toBe(0);
    const started = performance.now();
    await (await env.proxy.getToxic(name)).remove();
    expect((await client.waitForBytes(12, 1_000)).toString()).toBe('first,second');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('a slow toxic pushes back on the sender instead of buffering without bound', async () => {
    await using env = await setup();
    await env.addToxic('bandwidth', { rate: 10 }, { stream: 'upstream' });
    await using client = await TestClient.connect(env.port);
    const chunk = Buffer.alloc(64 * 1024);
    const cap = 64 * 1024 * 1024;
    let written = 0;
    // Write for half a second, waiting for drains; with a 10 KB/s toxic only
    // flow control keeps the proxy from reading (and holding) all of it.
    const deadline = performance.now() + 500;
    while (performance.now() < deadline && written < cap) {
      written += chunk.length;
      if (!client.socket.write(chunk)) {
        await Promise.race([once(client.socket, 'drain'), sleep(Math.max(0, deadline - performance.now()))]);
      }
    }
    const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
    const received = Number(
      /toxiproxy_proxy_received_bytes_total\{direction="upstream"[^}]*\} (\d+)/.exec(metrics)?.[1],
    );
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(8 * 1024 * 1024);
  });
});
