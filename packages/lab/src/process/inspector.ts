/**
 * A session on the inspector of a Node process the lab started with
 * `--inspect-port=127.0.0.1:0`: SIGUSR1 makes Node open the inspector from a
 * thread of its own (on a free port; it answers even when the main thread
 * spins), and its URL is read from the "Debugger listening on ws://…" line
 * Node writes on its stderr. The session speaks the Chrome DevTools Protocol
 * over undici's WebSocket: commands answered by id, events by method.
 *
 * Used for a spinning process' JavaScript stack (`js-stack.ts`) and for a
 * CPU profile of a chosen window (`cpu-profile.ts`).
 */
import { WebSocket } from 'undici';
import { LabError } from '../errors.js';

const LISTENING = /Debugger listening on (ws:\/\/\S+)/;

export interface InspectorSession {
  /** Sends a command; resolves with its result, rejects with the protocol's error. */
  call<T = unknown>(method: string, params?: object): Promise<T>;
  /** Calls `fn` with the params of every event named `method`. */
  on(method: string, fn: (params: Record<string, unknown>) => void): void;
  close(): void;
}

/**
 * Opens the inspector of `pid` (SIGUSR1) and connects to it; `stderrText` returns the process' stderr so far.
 * Undefined when the signal cannot be sent, or no URL or connection comes within `timeoutMs`.
 */
export async function openInspector(
  pid: number,
  stderrText: () => string,
  timeoutMs = 3000,
): Promise<InspectorSession | undefined> {
  const deadline = Date.now() + timeoutMs;
  try {
    process.kill(pid, 'SIGUSR1');
  } catch {
    return undefined;
  }
  let url: string | undefined;
  while (url === undefined && Date.now() < deadline) {
    url = LISTENING.exec(stderrText())?.[1];
    if (url === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  if (url === undefined) return undefined;
  const ws = new WebSocket(url);
  const opened = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    ws.addEventListener('open', () => (clearTimeout(timer), resolve(true)));
    ws.addEventListener('error', () => (clearTimeout(timer), resolve(false)));
  });
  if (!opened) {
    ws.close();
    return undefined;
  }
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, ((p: Record<string, unknown>) => void)[]>();
  ws.addEventListener('message', (ev: { data: unknown }) => {
    const msg = JSON.parse(String(ev.data)) as {
      id?: number;
      result?: unknown;
      error?: { message?: string };
      method?: string;
      params?: Record<string, unknown>;
    };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new LabError(`inspector: ${msg.error.message ?? 'error'}`));
      else p?.resolve(msg.result);
      return;
    }
    if (msg.method) for (const fn of listeners.get(msg.method) ?? []) fn(msg.params ?? {});
  });
  const failAll = (why: string) => {
    for (const p of pending.values()) p.reject(new LabError(`inspector: ${why}`, { retriable: true }));
    pending.clear();
  };
  ws.addEventListener('close', () => failAll('connection closed'));
  ws.addEventListener('error', () => failAll('connection failed'));
  return {
    call<T>(method: string, params: object = {}): Promise<T> {
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    on(method, fn) {
      listeners.set(method, [...(listeners.get(method) ?? []), fn]);
    },
    close() {
      failAll('closed');
      ws.close();
    },
  };
}
