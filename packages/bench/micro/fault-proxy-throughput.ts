/**
 * Pass-through cost of the fault proxy on loopback, no toxics: bulk
 * throughput (client → server) and small request/response round trips,
 * direct versus through the proxy. The proxy runs as its own process (as the
 * lab runs it) and, for comparison, in this process's event loop.
 *
 *   node --import tsx packages/bench/micro/fault-proxy-throughput.ts [--mib 256] [--pings 3000] [--runs 3]
 *
 * The client and the servers share this process in every variant, so the
 * difference between rows is the proxy's. Medians of `--runs` runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Toxiproxy } from 'toxiproxy-node-client';
import { startFaultProxy } from '@chaos-lab/fault-proxy';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    pings: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
  },
});
const TOTAL_BYTES = Number(values.mib) * 1024 * 1024;
const PINGS = Number(values.pings);
const RUNS = Number(values.runs);
const PING_BYTES = 64;
const WRITE_CHUNK = 256 * 1024;

/** Counts what each connection receives; `expect` resolves when the next connection has had `bytes`. */
class Sink {
  private waiting: { bytes: number; resolve: () => void } | undefined;
  readonly server: Server = createServer((socket) => {
    const target = this.waiting;
    this.waiting = undefined;
    let seen = 0;
    socket.on('data', (d: Buffer) => {
      seen += d.length;
      if (target && seen >= target.bytes) target.resolve();
    });
    socket.on('error', () => {});
  });
  expect(bytes: number): Promise<void> {
    return new Promise((resolve) => (this.waiting = { bytes, resolve }));
  }
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return address.port;
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

/** MB/s (10^6 bytes) from the first write until the sink has every byte. */
async function bulk(sink: Sink, port: number): Promise<number> {
  const received = sink.expect(TOTAL_BYTES);
  const socket = await open(port);
  const chunk = Buffer.alloc(WRITE_CHUNK, 0x5a);
  const start = performance.now();
  for (let sent = 0; sent < TOTAL_BYTES; sent += chunk.length) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  await received;
  const seconds = (performance.now() - start) / 1000;
  socket.destroy();
  return TOTAL_BYTES / seconds / 1e6;
}

/** Round-trip times (µs) of sequential 64-byte request/response pairs over one connection. */
async function pingPong(port: number): Promise<number[]> {
  const socket = await open(port);
  const payload = Buffer.alloc(PING_BYTES, 0x61);
  let pending = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    pending -= d.length;
    if (pending <= 0 && wake) wake();
  });
  const once1 = async (): Promise<number> => {
    pending = PING_BYTES;
    const start = performance.now();
    const back = new Promise<void>((resolve) => (wake = resolve));
    socket.write(payload);
    await back;
    return (performance.now() - start) * 1000;
  };
  for (let i = 0; i < 200; i++) await once1(); // warm-up: JIT, TCP windows
  const samples: number[] = [];
  for (let i = 0; i < PINGS; i++) samples.push(await once1());
  socket.destroy();
  return samples;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

interface Row {
  path: string;
  mbps: number;
  p50: number;
  p99: number;
}

async function measure(path: string, sinkPort: number, echoPort: number, sink: Sink): Promise<Row> {
  const mbps: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    mbps.push(await bulk(sink, sinkPort));
    const rtts = (await pingPong(echoPort)).sort((a, b) => a - b);
    p50.push(percentile(rtts, 0.5));
    p99.push(percentile(rtts, 0.99));
  }
  return { path, mbps: median(mbps), p50: median(p50), p99: median(p99) };
}

/** Starts the fault proxy's `dist/main.js` (built) or `src/main.ts` through tsx, and waits for its ready line. */
async function startProcess(): Promise<{ child: ChildProcess; url: string; entry: string }> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fault-proxy');
  const built = join(root, 'dist', 'main.js');
  const args = existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'src', 'main.ts')];
  const child = spawn(process.execPath, [...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fault-proxy exited with ${code}`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url, entry: args.join(' ') };
}

async function proxiedPorts(url: string, sinkPort: number, echoPort: number): Promise<[number, number]> {
  const toxiproxy = new Toxiproxy(url);
  const port = (listen: string) => Number(listen.slice(listen.lastIndexOf(':') + 1));
  const sink = await toxiproxy.createProxy({ name: 'sink', listen: '127.0.0.1:0', upstream: `127.0.0.1:${sinkPort}` });
  const echo = await toxiproxy.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` });
  return [port(sink.listen), port(echo.listen)];
}

const sink = new Sink();
const echoServer = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.pipe(socket);
});
const sinkPort = await listen(sink.server);
const echoPort = await listen(echoServer);

const rows: Row[] = [];
rows.push(await measure('direct', sinkPort, echoPort, sink));

const proc = await startProcess();
try {
  const [s, e] = await proxiedPorts(proc.url, sinkPort, echoPort);
  rows.push(await measure('proxied (own process)', s, e, sink));
} finally {
  proc.child.kill('SIGTERM');
  await once(proc.child, 'exit');
}

{
  await using server = await startFaultProxy();
  const [s, e] = await proxiedPorts(server.url, sinkPort, echoPort);
  rows.push(await measure('proxied (in this process)', s, e, sink));
}

sink.server.close();
echoServer.close();

const direct = rows[0]!;
const header = ['path', 'MB/s', 'p50 RTT µs', 'p99 RTT µs', 'added p50 µs', 'added p99 µs'];
const table = [
  header,
  ...rows.map((r) => [
    r.path,
    r.mbps.toFixed(0),
    r.p50.toFixed(0),
    r.p99.toFixed(0),
    r === direct ? '-' : (r.p50 - direct.p50).toFixed(0),
    r === direct ? '-' : (r.p99 - direct.p99).toFixed(0),
  ]),
];
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
console.log(
  `fault-proxy pass-through, loopback, no toxics — node ${process.version}, ${cpus().length} cores, ` +
    `${values.mib} MiB bulk, ${PINGS} × ${PING_BYTES}-byte round trips, median of ${RUNS} runs; proxy process: ${proc.entry}`,
);
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
