/**
 * The HTTP API, driven by toxiproxy-node-client 4.1.0 as a Toxiproxy user
 * would drive it, against real sockets: an echo server behind each proxy.
 */
import { describe, expect, it } from 'vitest';
import { Toxiproxy, ToxiproxyError, type ICreateToxicBody, type Latency } from 'toxiproxy-node-client';
import { startFaultProxy, TOXIPROXY_API_VERSION } from './index.js';
import { portOf, startEchoServer, TestClient } from './test-helpers.js';

let seq = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${++seq}`;

/** A toxic body with Toxiproxy's defaults left to the server (the client's type wants every field). */
function toxicBody<T>(body: Partial<ICreateToxicBody<T>>): ICreateToxicBody<T> {
  return body as ICreateToxicBody<T>;
}

async function rawRequest(url: string, method: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  const isJson = res.headers.get('content-type')?.startsWith('application/json') ?? false;
  return { status: res.status, text, json: isJson ? (JSON.parse(text) as unknown) : undefined };
}

async function connectRefused(port: number): Promise<string | undefined> {
  try {
    const client = await TestClient.connect(port);
    await client[Symbol.asyncDispose]();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

describe('Toxiproxy HTTP API', { timeout: 10_000 }, () => {
  it('reports the Toxiproxy API version it follows', async () => {
    await using server = await startFaultProxy();
    const toxiproxy = new Toxiproxy(server.url);
    expect(JSON.parse(await toxiproxy.getVersion())).toEqual({ version: TOXIPROXY_API_VERSION });
  });

  it('creates, lists, shows and proxies traffic; port 0 reports the bound port', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const name = unique('redis');
    const proxy = await toxiproxy.createProxy({ name, listen: '127.0.0.1:0', upstream: echo.address });
    expect(proxy.enabled).toBe(true);
    expect(proxy.upstream).toBe(echo.address);
    expect(proxy.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(portOf(proxy.listen)).toBeGreaterThan(0);

    await using client = await TestClient.connect(portOf(proxy.listen));
    await client.roundTrip('ping', 2_000);
    expect(client.received.toString()).toBe('ping');

    const all = await toxiproxy.getAll();
    expect(Object.keys(all)).toEqual([name]);
    expect(all[name]?.toJson()).toEqual({ name, listen: proxy.listen, upstream: echo.address, enabled: true });
    const shown = await rawRequest(`${server.url}/proxies/${name}`, 'GET');
    expect(shown).toMatchObject({
      status: 200,
      json: { name, listen: proxy.listen, upstream: echo.address, enabled: true, toxics: [] },
    });
  });

  it('lists proxies keyed by name in name order, and an empty listen binds the default host', async () => {
    await using server = await startFaultProxy();
    const toxiproxy = new Toxiproxy(server.url);
    await toxiproxy.createProxy({ name: 'b', listen: '', upstream: '127.0.0.1:1' });
    await toxiproxy.createProxy({ name: 'a', listen: ':0', upstream: '127.0.0.1:1', enabled: false });
    const listed = await rawRequest(`${server.url}/proxies`, 'GET');
    expect(Object.keys(listed.json as object)).toEqual(['a', 'b']);
    expect((listed.json as Record<string, { listen: string; enabled: boolean }>).b?.listen).toMatch(
      /^127\.0\.0\.1:\d+$/,
    );
    expect((listed.json as Record<string, { listen: string; enabled: boolean }>).a).toMatchObject({
      listen: ':0',
      enabled: false,
    });
  });

  it('disabling closes open connections and refuses new ones; enabling listens on the same port again', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const proxy = await toxiproxy.createProxy({ name: unique('pg'), listen: '127.0.0.1:0', upstream: echo.address });
    const port = portOf(proxy.listen);
    await using open = await TestClient.connect(port);
    await open.roundTrip('before', 2_000);

    const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect(disabled.enabled).toBe(false);
    expect(disabled.listen).toBe(proxy.listen);
    await open.waitForClose(2_000);
    expect(await connectRefused(port)).toBe('ECONNREFUSED');

    const enabled = await disabled.update({ enabled: true, listen: disabled.listen, upstream: disabled.upstream });
    expect(enabled.enabled).toBe(true);
    expect(enabled.listen).toBe(proxy.listen);
    await using again = await TestClient.connect(port);
    await again.roundTrip('after', 2_000);
  });

  it('changing the upstream restarts the proxy onto the new one', async () => {
    await using server = await startFaultProxy();
    await using first = await startEchoServer();
    await using second = await startEchoServer((socket) => socket.end('second'));
    const toxiproxy = new Toxiproxy(server.url);
    const proxy = await toxiproxy.createProxy({ name: unique('svc'), listen: '127.0.0.1:0', upstream: first.address });
    await using before = await TestClient.connect(portOf(proxy.listen));
    const updated = await proxy.update({ enabled: true, listen: proxy.listen, upstream: second.address });
    expect(updated.upstream).toBe(second.address);
    await before.waitForClose(2_000);
    await using after = await TestClient.connect(portOf(updated.listen));
    expect((await after.waitForBytes(6, 2_000)).toString()).toBe('second');
  });

  it('deletes a proxy: 204, then 404, and its port refuses connections', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const name = unique('gone');
    const proxy = await toxiproxy.createProxy({ name, listen: '127.0.0.1:0', upstream: echo.address });
    expect((await rawRequest(`${server.url}/proxies/${name}`, 'DELETE')).status).toBe(204);
    await expect(toxiproxy.get(name)).rejects.toThrow('status code 404');
    expect(await connectRefused(portOf(proxy.listen))).toBe('ECONNREFUSED');
  });

  it('answers errors as Toxiproxy does, and the client throws them', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const name = unique('err');
    const proxy = await toxiproxy.createProxy({ name, listen: '127.0.0.1:0', upstream: echo.address });

    await expect(toxiproxy.get('no_such_proxy')).rejects.toBeInstanceOf(ToxiproxyError);
    await expect(toxiproxy.get('no_such_proxy')).rejects.toThrow('Request failed with status code 404');
    await expect(toxiproxy.createProxy({ name, listen: '127.0.0.1:0', upstream: echo.address })).rejects.toThrow(
      'status code 409',
    );
    await expect(proxy.addToxic(toxicBody({ type: 'nonsense' as 'latency', attributes: {} }))).rejects.toThrow(
      'status code 400',
    );
    await expect(proxy.getToxic('no_such_toxic')).rejects.toThrow('status code 404');

    const url = server.url;
    expect(await rawRequest(`${url}/proxies/nope`, 'GET')).toMatchObject({
      status: 404,
      json: { error: 'proxy not found', status: 404 },
    });
    expect(await rawRequest(`${url}/proxies`, 'POST', { name, listen: ':0', upstream: echo.address })).toMatchObject({
      status: 409,
      json: { error: 'proxy already exists', status: 409 },
    });
    expect(await rawRequest(`${url}/proxies/${name}/toxics`, 'POST', { type: 'nonsense' })).toMatchObject({
      status: 400,
      json: { error: 'invalid toxic type', status: 400 },
    });
    expect(
      await rawRequest(`${url}/proxies/${name}/toxics`, 'POST', { type: 'latency', stream: 'sideways' }),
    ).toMatchObject({ status: 400, json: { error: 'stream was invalid, can be either upstream or downstream' } });
    expect(
      await rawRequest(`${url}/proxies/${name}/toxics`, 'POST', { type: 'latency', attributes: { latency: 'slow' } }),
    ).toMatchObject({
      status: 400,
      json: {
        error:
          'bad request body: json: cannot unmarshal string into Go struct field LatencyToxic.attributes.latency of type int64',
      },
    });
    expect(
      await rawRequest(`${url}/proxies/${name}/toxics`, 'POST', { type: 'latency', attributes: { latency: -5 } }),
    ).toMatchObject({
      status: 400,
      json: { error: 'bad request body: attributes.latency must be an integer >= 0 (got -5)' },
    });
    expect(await rawRequest(`${url}/proxies/${name}/toxics`, 'POST', { type: 'latency', toxicity: 2 })).toMatchObject({
      status: 400,
    });
    expect(await rawRequest(`${url}/proxies/${name}/toxics/nope`, 'DELETE')).toMatchObject({
      status: 404,
      json: { error: 'toxic not found', status: 404 },
    });
    expect(await rawRequest(`${url}/proxies`, 'POST', { name: unique('x'), listen: ':0' })).toMatchObject({
      status: 400,
      json: { error: 'missing required field: upstream', status: 400 },
    });
    expect(await rawRequest(`${url}/proxies`, 'POST', { name: unique('x'), upstream: 'no-port' })).toMatchObject({
      status: 400,
    });
    expect(await rawRequest(`${url}/proxies`, 'POST', '{not json')).toMatchObject({ status: 400 });
    expect(await rawRequest(`${url}/proxies`, 'POST', '')).toMatchObject({
      status: 400,
      json: { error: 'bad request body: EOF' },
    });
    // A port already taken: Toxiproxy's 500 with the bind error, and no proxy is left behind.
    const taken = await rawRequest(`${url}/proxies`, 'POST', {
      name: 'clash',
      listen: proxy.listen,
      upstream: echo.address,
    });
    expect(taken).toMatchObject({ status: 500 });
    expect((taken.json as { error: string }).error).toContain('address already in use');
    expect((await rawRequest(`${url}/proxies/clash`, 'GET')).status).toBe(404);
    expect((await rawRequest(`${url}/nowhere`, 'GET')).status).toBe(404);
    expect((await rawRequest(`${url}/proxies`, 'PUT')).status).toBe(405);
  });

  it('creates, shows, updates and deletes toxics with Toxiproxy defaults', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const proxy = await toxiproxy.createProxy({ name: unique('tox'), listen: '127.0.0.1:0', upstream: echo.address });

    const latency = await proxy.addToxic(
      toxicBody<Latency>({ type: 'latency', attributes: { latency: 40 } as Latency }),
    );
    expect(latency.toJson()).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 40, jitter: 0 },
    });
    const limit = await proxy.addToxic(
      toxicBody({ name: 'cap', type: 'limit_data', stream: 'upstream', toxicity: 0.5, attributes: { bytes: 10 } }),
    );
    expect(limit.toJson()).toMatchObject({ name: 'cap', stream: 'upstream', toxicity: 0.5, attributes: { bytes: 10 } });

    // Upstream chain first, then downstream, as Toxiproxy lists them.
    const listed = await rawRequest(`${server.url}/proxies/${proxy.name}/toxics`, 'GET');
    expect((listed.json as { name: string }[]).map((t) => t.name)).toEqual(['cap', 'latency_downstream']);

    // An update merges the attributes given and keeps the rest; type, stream and name stay.
    const updated = await latency.update(
      toxicBody<Latency>({ attributes: { jitter: 5 } as Latency, toxicity: 0.25, type: 'bandwidth' }),
    );
    expect(updated.toJson()).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 0.25,
      attributes: { latency: 40, jitter: 5 },
    });
    expect((await proxy.getToxic('latency_downstream')).toJson()).toEqual(updated.toJson());

    await updated.remove();
    await expect(proxy.getToxic('latency_downstream')).rejects.toThrow('status code 404');
    expect(
      (await toxiproxy.get(proxy.name)) && (await rawRequest(`${server.url}/proxies/${proxy.name}`, 'GET')).json,
    ).toMatchObject({ toxics: [{ name: 'cap' }] });
  });

  it('populates: creates, keeps identical proxies untouched, replaces changed ones', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    await using other = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const [a, b] = [unique('pop_a'), unique('pop_b')];
    const first = await toxiproxy.populate([
      { name: a, listen: '127.0.0.1:0', upstream: echo.address },
      { name: b, listen: '127.0.0.1:0', upstream: echo.address, enabled: false },
    ]);
    expect(Object.keys(first).sort()).toEqual([a, b].sort());
    expect(first[a]?.enabled).toBe(true);
    expect(first[b]?.enabled).toBe(false);
    await first[a]?.addToxic(toxicBody({ type: 'latency', attributes: { latency: 1 } }));

    // Same fields again (port 0 accepts the bound port): untouched, toxics kept.
    const second = await toxiproxy.populate([{ name: a, listen: '127.0.0.1:0', upstream: echo.address }]);
    expect(second[a]?.listen).toBe(first[a]?.listen);
    expect((await rawRequest(`${server.url}/proxies/${a}/toxics`, 'GET')).json).toHaveLength(1);

    // A new upstream: replaced, toxics gone.
    const third = await toxiproxy.populate([{ name: a, listen: '127.0.0.1:0', upstream: other.address }]);
    expect(third[a]?.upstream).toBe(other.address);
    expect((await rawRequest(`${server.url}/proxies/${a}/toxics`, 'GET')).json).toEqual([]);

    const bad = await rawRequest(`${server.url}/populate`, 'POST', [{ name: 'x', listen: ':0' }]);
    expect(bad).toMatchObject({ status: 400, json: { error: 'missing required field: upstream at proxy 1' } });
  });

  it('reset enables every proxy and removes every toxic', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const proxy = await toxiproxy.createProxy({ name: unique('reset'), listen: '127.0.0.1:0', upstream: echo.address });
    await proxy.addToxic(toxicBody({ type: 'latency', stream: 'upstream', attributes: { latency: 500 } }));
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });

    await toxiproxy.reset();
    const after = await rawRequest(`${server.url}/proxies/${proxy.name}`, 'GET');
    expect(after.json).toMatchObject({ enabled: true, toxics: [], listen: proxy.listen });
    await using client = await TestClient.connect(portOf(proxy.listen));
    expect(await client.roundTrip('fast again', 2_000)).toBeLessThan(250);
  });

  it('refuses browsers, as Toxiproxy does', async () => {
    await using server = await startFaultProxy();
    const res = await fetch(`${server.url}/proxies`, { headers: { 'User-Agent': 'Mozilla/5.0' } });
    expect(res.status).toBe(403);
  });

  it('reports bytes, connections and toxics on /metrics', async () => {
    await using server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const name = unique('metrics');
    const proxy = await toxiproxy.createProxy({ name, listen: '127.0.0.1:0', upstream: echo.address });
    await proxy.addToxic(toxicBody({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 0 } }));
    const client = await TestClient.connect(portOf(proxy.listen));
    await client.roundTrip(Buffer.alloc(1234, 1), 2_000);

    const text = (await rawRequest(`${server.url}/metrics`, 'GET')).text;
    const labels = `proxy="${name}",listener="${proxy.listen}",upstream="${echo.address}"`;
    expect(text).toContain(`toxiproxy_proxy_received_bytes_total{direction="upstream",${labels}} 1234`);
    expect(text).toContain(`toxiproxy_proxy_sent_bytes_total{direction="downstream",${labels}} 1234`);
    expect(text).toContain(`fault_proxy_connections_active{proxy="${name}"} 1`);
    expect(text).toContain(`fault_proxy_toxics_active{proxy="${name}",type="bandwidth",stream="upstream"} 1`);

    await client[Symbol.asyncDispose]();
    await expect
      .poll(async () => (await rawRequest(`${server.url}/metrics`, 'GET')).text, { timeout: 2_000 })
      .toContain(`fault_proxy_connections_closed_total{proxy="${name}"} 1`);
  });

  it('closes a client whose upstream refuses the connection', async () => {
    await using server = await startFaultProxy();
    const closedPort = await (async () => {
      const echo = await startEchoServer();
      await echo.close();
      return echo.port;
    })();
    const toxiproxy = new Toxiproxy(server.url);
    const proxy = await toxiproxy.createProxy({
      name: unique('down'),
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${closedPort}`,
    });
    await using client = await TestClient.connect(portOf(proxy.listen));
    client.write('hello?');
    await client.waitForClose(2_000);
    expect(client.received.length).toBe(0);
  });

  it('stop() closes every proxy and its connections, and stopping twice is fine', async () => {
    const server = await startFaultProxy();
    await using echo = await startEchoServer();
    const toxiproxy = new Toxiproxy(server.url);
    const proxy = await toxiproxy.createProxy({ name: unique('stop'), listen: '127.0.0.1:0', upstream: echo.address });
    await using client = await TestClient.connect(portOf(proxy.listen));
    await client.roundTrip('hi', 2_000);
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    await client.waitForClose(2_000);
    expect(await connectRefused(portOf(proxy.listen))).toBe('ECONNREFUSED');
    await expect(fetch(`${server.url}/version`)).rejects.toThrow();
  });

  it('rejects bad options naming the field and the value', async () => {
    await expect(startFaultProxy({ port: 70_000 })).rejects.toThrow(
      'port: expected an integer from 0 to 65535 (got 70000)',
    );
    await using first = await startFaultProxy();
    await expect(startFaultProxy({ port: first.port })).rejects.toMatchObject({
      name: 'ListenError',
      retriable: true,
    });
  });
});
