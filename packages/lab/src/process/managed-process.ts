/**
 * A child process the lab owns. It is registered with the cleanup registry
 * from the moment it is spawned, its stdout and stderr go to a log file in the
 * run folder, and stopping it is idempotent: a process that is already gone
 * counts as stopped.
 */
import { readdir, readFile } from 'node:fs/promises';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isExiting, registerCleanup } from './cleanup.js';
import { LabError, LabTimeoutError, ProviderStartError } from '../errors.js';
import { formatPausedStack, pausedJsStack } from './js-stack.js';
import { startCpuProfile, type CpuProfile } from './cpu-profile.js';

export interface ManagedProcessOptions {
  /** Short name used in logs and errors, e.g. `redis` or `coordinator-2`. */
  readonly name: string;
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** File that receives stdout and stderr (appended: a restart keeps the earlier output). */
  readonly logFile: string;
  /** Run as this uid/gid (e.g. PostgreSQL refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
  /**
   * Called with the pid right after the spawn, in the same tick (before anything else can run): where the lab
   * records the process for the reaper (`recordPidSync`), so that a SIGKILL of the lab leaves a process nobody
   * knows of only if it falls between the fork and that write (the reaper then keeps the folder and names the
   * process). An error it throws is written to the log and otherwise ignored.
   */
  readonly onSpawn?: (pid: number) => void;
  /** Called with every stdout line (in addition to the log file). */
  readonly onStdoutLine?: (line: string) => void;
  /** Grace period between the stop signal and SIGKILL. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
  /**
   * Sent when a stop times out, a second before the SIGKILL: a Node process started with
   * `--report-on-signal --report-signal=<it>` then writes a diagnostic report (its stack and every open
   * handle: the socket or timer its shutdown waits on) for the run folder.
   */
  readonly diagnosticSignal?: NodeJS.Signals;
  /**
   * A Node process started with `--inspect-port=0`: when a stop times out, its inspector is opened (SIGUSR1) and
   * its main thread paused, and the JavaScript stack it was running goes to the log — the one way to see where a
   * process spins, since a spinning event loop runs no signal handler (so writes no diagnostic report).
   */
  readonly inspectOnHang?: boolean;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ManagedProcess implements AsyncDisposable {
  readonly name: string;
  readonly logFile: string;
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private exitInfo: ExitInfo | undefined;
  private readonly unregister: () => void;
  private readonly stopTimeoutMs: number;
  private readonly diagnosticSignal: NodeJS.Signals | undefined;
  private readonly inspectOnHang: boolean;
  /** The end of its stderr (the inspector's URL is read from it). */
  private stderrTail = '';
  private logFailed = false;
  /** Resolves when the child's stdio streams have closed (after 'exit', possibly later). */
  private readonly stdioClosed: Promise<void>;

  private constructor(opts: ManagedProcessOptions) {
    this.name = opts.name;
    this.logFile = opts.logFile;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    this.diagnosticSignal = opts.diagnosticSignal;
    this.inspectOnHang = opts.inspectOnHang ?? false;
    this.log = createWriteStream(opts.logFile, { flags: 'a' });
    // A log that cannot be written must not take the lab down with an unhandled 'error'.
    this.log.on('error', (err) => {
      if (this.logFailed) return;
      this.logFailed = true;
      process.stderr.write(`lab: ${opts.name}: cannot write its log ${opts.logFile}: ${err.message}\n`);
    });
    const spawnOpts: SpawnOptions = {
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.cwd !== undefined && { cwd: opts.cwd }),
      ...(opts.uid !== undefined && { uid: opts.uid }),
      ...(opts.gid !== undefined && { gid: opts.gid }),
    };
    this.child = spawn(opts.command, [...(opts.args ?? [])], spawnOpts);
    if (opts.onSpawn && this.child.pid !== undefined) {
      try {
        opts.onSpawn(this.child.pid);
      } catch (err) {
        this.log.write(`lab: recording pid ${this.child.pid} failed: ${String(err)}\n`);
      }
    }
    this.unregister = registerCleanup({
      name: `${opts.name} (pid ${this.child.pid ?? '?'})`,
      run: async () => {
        await this.stop();
      },
      killSync: () => this.signal('SIGKILL'),
    });
    this.child.stderr?.pipe(this.log, { end: false });
    if (this.inspectOnHang)
      this.child.stderr?.on(
        'data',
        (chunk: Buffer) => (this.stderrTail = (this.stderrTail + String(chunk)).slice(-8192)),
      );
    if (opts.onStdoutLine && this.child.stdout) {
      const onLine = opts.onStdoutLine;
      const rl = createInterface({ input: this.child.stdout });
      rl.on('line', (line) => {
        if (!this.log.writableEnded) this.log.write(line + '\n');
        onLine(line);
      });
    } else {
      this.child.stdout?.pipe(this.log, { end: false });
    }
    this.stdioClosed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo) => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        this.unregister();
        resolve(info);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (err) => {
        this.log.write(`lab: spawn failed: ${String(err)}\n`);
        done({ code: null, signal: null });
      });
    });
  }

  /** Spawns the process; rejects if the OS could not start it (e.g. missing binary). */
  static async spawn(opts: ManagedProcessOptions): Promise<ManagedProcess> {
    if (isExiting()) throw new ProviderStartError(opts.name, 'the lab is shutting down; nothing new is started');
    const p = new ManagedProcess(opts);
    await new Promise<void>((resolve, reject) => {
      p.child.once('spawn', () => resolve());
      p.child.once('error', (err) => {
        const e = new ProviderStartError(opts.name, `could not spawn ${opts.command}: ${String(err)}`, { cause: err });
        void p.closeLog().then(() => reject(e));
      });
    });
    return p;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Starts a CPU profile of this Node process through its inspector (it must have been spawned with
   * `inspectOnHang` and `--inspect-port`); call the answer to stop it and get the profile (`cpu-profile.ts`).
   */
  async startCpuProfile(samplingIntervalUs?: number): Promise<() => Promise<CpuProfile>> {
    if (!this.inspectOnHang || this.child.pid === undefined || !this.running)
      throw new LabError(`${this.name}: not a running process whose inspector the lab can open`);
    return startCpuProfile(this.name, this.child.pid, () => this.stderrTail, samplingIntervalUs);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Sends a signal; a process that is already gone is not an error. Returns whether it was delivered. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running || this.child.pid === undefined) return false;
    try {
      process.kill(this.child.pid, sig);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }

  /** SIGSTOP: the process freezes (sockets stay open, nothing is answered). */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<ExitInfo> {
    this.signal('SIGCONT'); // a stopped process still dies on SIGKILL, but keep the state tidy
    this.signal('SIGKILL');
    return this.exited;
  }

  /**
   * Graceful stop: `signal` (default SIGTERM), then SIGKILL after the grace
   * period. Resolves when the process has exited. Idempotent.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = this.stopTimeoutMs): Promise<ExitInfo> {
    if (this.running) {
      this.signal('SIGCONT'); // a paused process cannot handle SIGTERM
      this.signal(signal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const r = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') {
        // What the kernel says of it first: a main thread running (a busy loop) or asleep, and on what.
        const where = this.child.pid === undefined ? undefined : await procState(this.child.pid);
        if (where !== undefined) this.log.write(`lab: ${this.name} at its stop timeout: ${where}\n`);
        if (this.inspectOnHang && this.child.pid !== undefined) {
          const stack = await pausedJsStack(this.child.pid, () => this.stderrTail);
          const line = `lab: ${this.name} at its stop timeout, main thread ${stack ? formatPausedStack(stack) : 'not paused (its inspector did not answer)'}`;
          this.log.write(line + '\n');
          process.stderr.write(line + '\n');
        }
        if (this.diagnosticSignal !== undefined && this.signal(this.diagnosticSignal)) {
          this.log.write(
            `lab: ${this.name} ignored ${signal} for ${timeoutMs} ms; asked for a diagnostic report (${this.diagnosticSignal})\n`,
          );
          await Promise.race([this.exited, new Promise((res) => setTimeout(res, 1000))]);
        }
        this.log.write(`lab: ${this.name} ignored ${signal} for ${timeoutMs} ms, sending SIGKILL\n`);
        this.signal('SIGKILL');
      }
    }
    const info = await this.exited;
    await this.closeLog();
    return info;
  }

  /**
   * Ends the log once the child's output has drained: 'exit' can come before the last of its stdout and stderr,
   * and a write after the end would be lost (or, unhandled, fatal). A grandchild that inherited the pipes can
   * hold them open for ever, so the wait is bounded; whatever comes later is dropped.
   */
  private async closeLog(): Promise<void> {
    if (this.log.writableEnded) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.stdioClosed, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    this.child.stdout?.unpipe(this.log);
    this.child.stderr?.unpipe(this.log);
    if (!this.log.writableEnded) await new Promise<void>((r) => this.log.end(r));
  }

  /** Waits until `predicate` resolves true, polling, or the process exits, or the timeout passes. */
  async waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 15_000, intervalMs = 25): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new ProviderStartError(
          this.name,
          `exited (code ${this.exitInfo?.code}, signal ${this.exitInfo?.signal}) before ${what}`,
          { logFile: this.logFile },
        );
      }
      if (await predicate().catch(() => false)) return;
      if (Date.now() > deadline) throw new LabTimeoutError(`${this.name}: ${what}`, timeoutMs);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * One line on a process from /proc: each thread's state (R running, S sleeping, D in an uninterruptible
 * wait, T stopped) and the kernel function it sleeps in. Undefined where /proc cannot be read.
 */
export async function procState(pid: number): Promise<string | undefined> {
  try {
    const tids = (await readdir(`/proc/${pid}/task`)).sort((a, b) => Number(a) - Number(b));
    const threads = await Promise.all(
      tids.map(async (tid) => {
        const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // The name is in parentheses and may hold spaces; the state follows its closing parenthesis.
        const close = stat.lastIndexOf(')');
        const name = stat.slice(stat.indexOf('(') + 1, close);
        const state = stat.slice(close + 2, close + 3);
        const wchan = await readFile(`/proc/${pid}/task/${tid}/wchan`, 'utf8').catch(() => '');
        return `${tid === String(pid) ? 'main' : name} ${state}${wchan && wchan !== '0' ? ` in ${wchan}` : ''}`;
      }),
    );
    return `threads: ${threads.join('; ')}`;
  } catch {
    return undefined;
  }
}
