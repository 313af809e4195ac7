/**
 * The driver's HTTP clients. Both keep connections alive, as k6 does. `http` (node:http with a
 * keep-alive agent) is the default: it measured more headroom than `fetch` (undici) at 300 req/s on
 * these machines (README, "HTTP client"), and it reads exact wire byte counts from the socket; `fetch`
 * estimates them from the headers and bodies.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { HttpRequestSpec } from './plan.js';

export type ClientKind = 'http' | 'fetch';

export interface TransportResponse {
  readonly status: number;
  readonly body: string;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export interface Transport {
  /** Rejects on a network error, a timeout or an abort; resolves with any HTTP status. */
  send(spec: HttpRequestSpec, signal: AbortSignal): Promise<TransportResponse>;
  close(): void;
}

export function createTransport(kind: ClientKind, baseUrl: URL, timeoutMs: number): Transport {
  return kind === 'http' ? nodeHttpTransport(baseUrl, timeoutMs) : fetchTransport(baseUrl, timeoutMs);
}

function joinPath(base: URL, path: string): string {
  return base.pathname.replace(/\/$/, '') + path;
}

function nodeHttpTransport(base: URL, timeoutMs: number): Transport {
  const secure = base.protocol === 'https:';
  const module = secure ? https : http;
  // No socket limit: an open model must not queue requests inside the client, or queueing would hide
  // the service's latency from http_req_duration.
  const agent = new module.Agent({ keepAlive: true, maxSockets: Infinity });
  return {
    send(spec, signal) {
      return new Promise((resolve, reject) => {
        const body = Buffer.from(spec.body);
        const req = module.request({
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port || (secure ? 443 : 80),
          path: joinPath(base, spec.path),
          method: spec.method,
          headers: { ...spec.headers, 'Content-Length': body.length },
          agent,
          signal,
          timeout: timeoutMs,
        });
        let written = 0;
        let read = 0;
        let socket: Socket | undefined;
        req.once('socket', (s) => {
          socket = s;
          written = s.bytesWritten;
          read = s.bytesRead;
        });
        req.once('timeout', () => req.destroy(new Error(`request timeout after ${timeoutMs} ms`)));
        req.once('error', reject);
        req.once('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              body: text,
              bytesSent: socket ? socket.bytesWritten - written : body.length,
              bytesReceived: socket ? socket.bytesRead - read : text.length,
            });
          });
        });
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

function fetchTransport(base: URL, timeoutMs: number): Transport {
  const origin = base.origin;
  return {
    async send(spec, signal) {
      const url = origin + joinPath(base, spec.path);
      const response = await fetch(url, {
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      const text = await response.text();
      // Approximate wire sizes: request line + headers + body, status line + headers + body.
      let headerBytes = 0;
      response.headers.forEach((value, key) => (headerBytes += key.length + value.length + 4));
      const requestHeaderBytes = Object.entries(spec.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
      return {
        status: response.status,
        body: text,
        bytesSent: spec.method.length + url.length + 13 + requestHeaderBytes + Buffer.byteLength(spec.body),
        bytesReceived: 17 + headerBytes + Buffer.byteLength(text),
      };
    },
    close() {},
  };
}
