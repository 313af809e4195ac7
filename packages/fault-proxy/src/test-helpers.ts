/**
 * Real sockets for the tests: an echo server to proxy to, and a client that
 * records what it receives and how its connection ended. Every wait has a
 * deadline, so a broken proxy fails a test instead of hanging it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface EchoServer extends AsyncDisposable {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/** Echoes every byte back; ends its side when the client ends its own (a FIN is answered with a FIN). */
export async function startEchoServer(onConnection?: (socket: Socket) => void): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (onConnection) onConnection(socket);
    else socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('echo server has no address');
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }));
  return {
    port: address.port,
    address: `127.0.0.1:${address.port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

export interface Ending {
  /** ms from connect to the `close` event. */
  readonly atMs: number;
  /** Whether the peer's FIN arrived (an `end` event) before the close. */
  readonly gotEnd: boolean;
  readonly errorCode: string | undefined;
}

/** A client connection that keeps everything it receives, with the time of each chunk. */
export class TestClient implements AsyncDisposable {
  readonly chunks: { data: Buffer; atMs: number }[] = [];
  readonly connectedAt: number;
  readonly closed: Promise<Ending>;
  private gotEnd = false;
  private errorCode: string | undefined;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    this.connectedAt = performance.now();
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => {
      this.chunks.push({ data, atMs: performance.now() - this.connectedAt });
      this.notify();
    });
    socket.on('end', () => {
      this.gotEnd = true;
      this.notify();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        resolve({ atMs: performance.now() - this.connectedAt, gotEnd: this.gotEnd, errorCode: this.errorCode });
        this.notify();
      }),
    );
  }

  static connect(port: number, timeoutMs = 2_000): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new TestClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once at least `bytes` bytes arrived in total; rejects after `timeoutMs`. */
  async waitForBytes(bytes: number, timeoutMs: number): Promise<Buffer> {
    await this.until(() => this.received.length >= bytes, timeoutMs, `${bytes} bytes`);
    return this.received;
  }

  /** Sends `payload` and resolves with the ms until as many bytes came back (an echo round trip). */
  async roundTrip(payload: string | Buffer, timeoutMs: number): Promise<number> {
    const expected = this.received.length + Buffer.byteLength(payload);
    const start = performance.now();
    this.write(payload);
    await this.waitForBytes(expected, timeoutMs);
    return performance.now() - start;
  }

  /** The connection's end, or a rejection if it stays open for `timeoutMs`. */
  async waitForClose(timeoutMs: number): Promise<Ending> {
    return withTimeout(this.closed, timeoutMs, 'connection close');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      const left = deadline - performance.now();
      if (left <= 0 || this.socket.destroyed) {
        throw new Error(`waited ${timeoutMs} ms for ${what}; got ${this.received.length} bytes`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Port of a proxy's `listen` (`127.0.0.1:41234` → 41234). */
export function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
