/**
 * The JavaScript stack of a Node process whose event loop does not turn.
 *
 * A process that spins (a busy loop, or promises that settle at once and
 * loop back) never runs a signal handler written in JavaScript, so
 * `--report-on-signal` writes nothing. Its inspector still answers: SIGUSR1
 * makes Node open it from a thread of its own, and `Debugger.pause` stops
 * the main thread through a V8 interrupt — which a spinning thread takes at
 * its next function call or loop back-edge. The paused call frames (and the
 * async frames behind them) say which function spins.
 *
 * The process must have been started with `--inspect-port=0` (any free port,
 * on 127.0.0.1, opened only on SIGUSR1); the port is read from the
 * "Debugger listening on ws://…" line Node writes on its stderr.
 */
import { WebSocket } from 'undici';

const LISTENING = /Debugger listening on (ws:\/\/\S+)/;

export interface PausedStack {
  /** Innermost first: `functionName file:line:column`. */
  readonly frames: readonly string[];
  /** The async frames the paused code was awaited from (a promise chain), innermost first. */
  readonly asyncFrames: readonly string[];
}

interface CallFrame {
  readonly functionName: string;
  /** Empty in a paused frame (Debugger.CallFrame): its script's URL comes from Debugger.scriptParsed. */
  readonly url: string;
  readonly location?: { readonly scriptId: string; readonly lineNumber: number; readonly columnNumber?: number };
  readonly lineNumber?: number;
  readonly columnNumber?: number;
}
interface StackTrace {
  readonly callFrames: readonly CallFrame[];
  readonly parent?: StackTrace;
}

const frame = (f: CallFrame, scripts: ReadonlyMap<string, string>): string => {
  const line = (f.location?.lineNumber ?? f.lineNumber ?? -1) + 1;
  const col = (f.location?.columnNumber ?? f.columnNumber ?? -1) + 1;
  const url = f.url || (f.location && scripts.get(f.location.scriptId)) || '?';
  return `${f.functionName || '(anonymous)'} ${url.replace(/^file:\/\//, '')}:${line}:${col}`;
};

/**
 * Opens the inspector of `pid` (SIGUSR1), waits for its URL on `stderrText()` (the process' stderr so far),
 * pauses the main thread and returns its stack; undefined if any step fails within `timeoutMs`.
 */
export async function pausedJsStack(
  pid: number,
  stderrText: () => string,
  timeoutMs = 3000,
): Promise<PausedStack | undefined> {
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
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<PausedStack | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      let id = 0;
      const send = (method: string, params: object = {}) => ws.send(JSON.stringify({ id: ++id, method, params }));
      ws.addEventListener('error', () => resolve(undefined));
      ws.addEventListener('open', () => {
        send('Debugger.enable');
        send('Debugger.setAsyncCallStackDepth', { maxDepth: 32 });
        send('Debugger.pause');
      });
      const scripts = new Map<string, string>();
      const at = (f: CallFrame) => frame(f, scripts);
      ws.addEventListener('message', (ev: { data: unknown }) => {
        const msg = JSON.parse(String(ev.data)) as {
          method?: string;
          params?: { scriptId?: string; url?: string; callFrames?: CallFrame[]; asyncStackTrace?: StackTrace };
        };
        const p = msg.params;
        // Every script is announced after Debugger.enable, before the pause.
        if (msg.method === 'Debugger.scriptParsed' && p?.scriptId !== undefined) scripts.set(p.scriptId, p.url ?? '');
        if (msg.method !== 'Debugger.paused' || !p?.callFrames) return;
        const asyncFrames: string[] = [];
        for (let t = p.asyncStackTrace; t; t = t.parent) asyncFrames.push(...t.callFrames.map(at));
        resolve({ frames: p.callFrames.map(at), asyncFrames });
      });
    });
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}

/** One line for a log: `at f file:1:2 ← g file:3:4 …; awaited from …`. */
export function formatPausedStack(s: PausedStack, max = 12): string {
  const list = (xs: readonly string[]) => xs.slice(0, max).join(' ← ') + (xs.length > max ? ' ← …' : '');
  return `at ${list(s.frames)}${s.asyncFrames.length > 0 ? `; awaited from ${list(s.asyncFrames)}` : ''}`;
}
