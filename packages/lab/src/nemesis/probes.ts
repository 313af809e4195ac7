/**
 * Probes: one small request straight through a proxy, to observe a link
 * fault from the outside — a Redis PING, or a PostgreSQL SSLRequest (answered
 * with one byte before any authentication). They measure what a client of
 * that link would see: the round trip, or the error.
 */
import { connect } from 'node:net';

export interface ProbeResult {
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

const PG_SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** Sends `request` and waits for `expectBytes` bytes of answer, or an error, or the timeout. */
export function probe(
  host: string,
  port: number,
  request: Buffer,
  expectBytes: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = 0;
    let settled = false;
    const socket = connect({ host, port });
    const finish = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, ms: performance.now() - t0, ...(error !== undefined && { error }) });
    };
    const timer = setTimeout(() => finish(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => socket.write(request));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= expectBytes) finish(true);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
    socket.once('close', () => finish(false, `closed after ${got} bytes`));
  });
}

export function probeLink(
  link: 'redis' | 'postgres',
  host: string,
  port: number,
  timeoutMs: number,
  payloadBytes = 0,
): Promise<ProbeResult> {
  if (link === 'postgres') return probe(host, port, PG_SSL_REQUEST, 1, timeoutMs);
  if (payloadBytes > 0) {
    const payload = 'x'.repeat(payloadBytes);
    const cmd = `*2\r\n$4\r\nECHO\r\n$${payload.length}\r\n${payload}\r\n`;
    return probe(host, port, Buffer.from(cmd), payload.length + String(payload.length).length + 5, timeoutMs);
  }
  return probe(host, port, Buffer.from('PING\r\n'), 7, timeoutMs);
}
