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
 * on 127.0.0.1, opened only on SIGUSR1): see `inspector.ts`.
 */
import { openInspector } from './inspector.js';

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
  const session = await openInspector(pid, stderrText, timeoutMs);
  if (!session) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<PausedStack | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      const scripts = new Map<string, string>();
      const at = (f: CallFrame) => frame(f, scripts);
      // Every script is announced after Debugger.enable, before the pause.
      session.on('Debugger.scriptParsed', (p) => {
        if (typeof p.scriptId === 'string') scripts.set(p.scriptId, typeof p.url === 'string' ? p.url : '');
      });
      session.on('Debugger.paused', (p) => {
        const callFrames = p.callFrames as CallFrame[] | undefined;
        if (!callFrames) return;
        const asyncFrames: string[] = [];
        for (let t = p.asyncStackTrace as StackTrace | undefined; t; t = t.parent)
          asyncFrames.push(...t.callFrames.map(at));
        resolve({ frames: callFrames.map(at), asyncFrames });
      });
      const failed = () => resolve(undefined);
      session.call('Debugger.enable').catch(failed);
      session.call('Debugger.setAsyncCallStackDepth', { maxDepth: 32 }).catch(failed);
      session.call('Debugger.pause').catch(failed);
    });
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

/** One line for a log: `at f file:1:2 ← g file:3:4 …; awaited from …`. */
export function formatPausedStack(s: PausedStack, max = 12): string {
  const list = (xs: readonly string[]) => xs.slice(0, max).join(' ← ') + (xs.length > max ? ' ← …' : '');
  return `at ${list(s.frames)}${s.asyncFrames.length > 0 ? `; awaited from ${list(s.asyncFrames)}` : ''}`;
}
