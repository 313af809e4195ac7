/**
 * Coordinator instances: N processes of the production service, each with
 * its own HTTP port, instance id and log file, wired to whatever endpoints
 * the environment hands out. The lab never imports the coordinator's code:
 * it runs the built entry point as a child process, the way it is deployed.
 *
 * Process faults act here: stop (SIGTERM, graceful), kill (SIGKILL), pause
 * and resume (SIGSTOP/SIGCONT: the process is frozen, its sockets stay open
 * and its group membership times out), restart. And the
 * clock: where Debian's libfaketime is installed, every instance runs under
 * it, its wall clock offset read from a file of its own (`<id>.faketime` in
 * the log folder, `+0` until a clock-skew fault writes another offset), so
 * that one instance's `Date.now()` can be moved at run time while its timers
 * (the monotonic clock) run on undisturbed.
 *
 * Whoever asks ({@link CoordinatorInstances.onLifecycle}) is told what happens
 * to each instance's processes as it happens — started, ready, asked to stop,
 * killed, paused, resumed, exited, whichever fault or backstop did it — and a
 * seed records it in its history.
 */
import { dirname, join } from 'node:path';
import type { InstanceEvent } from '@chaos-lab/model';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { MAX_PORT_ATTEMPTS } from '../environment/local/launch.js';
import { recordPidSync } from '../environment/local/work-dir.js';
import { ManagedProcess } from '../process/managed-process.js';
import type { CpuProfile } from '../process/cpu-profile.js';
import { freePort } from '../process/ports.js';
import { instanceId } from './instance-id.js';
import {
  InvalidArgumentError,
  LabError,
  LabTimeoutError,
  MissingDependencyError,
  ProviderStartError,
} from '../errors.js';

/** What an instance whose stop timed out is sent for a Node diagnostic report (see `ManagedProcess`). */
const DIAGNOSTIC_SIGNAL: NodeJS.Signals = 'SIGUSR2';

/** libfaketime's preload library (Debian's package `faketime`, through its dependency `libfaketime`). */
export const LIBFAKETIME = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketime.so.1`;

/** Whether this machine has libfaketime, which the clock of an instance needs to be movable. */
export function libfaketimeAvailable(): boolean {
  return existsSync(LIBFAKETIME);
}

/** The largest clock offset an instance accepts (a year either way). */
export const MAX_CLOCK_OFFSET_MS = 366 * 24 * 3600 * 1000;

/** libfaketime's relative format: signed seconds, fractions allowed (`+0`, `-7`, `+5.5`). */
function faketimeOffset(ms: number): string {
  return `${ms < 0 ? '-' : '+'}${Math.abs(ms) / 1000}`;
}

export interface InstanceOptions {
  /** Path of the coordinator's built entry point (`apps/coordinator/dist/main.js`). */
  readonly entry: string;
  /** How many instances. Default 3. */
  readonly count?: number;
  /** Environment shared by every instance (endpoints, topic prefix…). */
  readonly env: Record<string, string>;
  /** Per-instance overrides, by index (e.g. each instance's own proxied Redis URL). */
  readonly envFor?: (index: number) => Record<string, string>;
  /** Folder for the instances' log files (`coordinator-<i>.log`). */
  readonly logDir: string;
  /** How long to wait for `/readyz`. Default 30 000 ms. */
  readonly readyTimeoutMs?: number;
  /** Graceful stop timeout before SIGKILL. Default 15 000 ms. */
  readonly stopTimeoutMs?: number;
  /**
   * The service's configuration prefix: the lab sets `<PREFIX>_INSTANCE_ID`, `_HTTP_HOST` and `_HTTP_PORT`.
   * Default `COORDINATOR`; the ingest service (same process model, `/readyz`, `/metrics`) uses `INGEST`.
   */
  readonly envPrefix?: string;
  /** Instance ids are `<idPrefix>-<n>`. Default `coordinator`. */
  readonly idPrefix?: string;
  /**
   * Run the instances under libfaketime (`LD_PRELOAD`, with `FAKETIME_NO_CACHE=1` so an offset applies at the next
   * clock read, and `FAKETIME_DONT_FAKE_MONOTONIC=1`: Node aborts when its monotonic clock steps back), so that
   * {@link CoordinatorInstance.setClockOffset} can move their wall clock. Costs a file read per wall-clock read
   * (a few µs). Default false (the suite runner turns it on when a seed plans a clock-skew fault); `true`
   * without libfaketime ({@link libfaketimeAvailable}) is refused with a {@link MissingDependencyError}.
   */
  readonly clockControl?: boolean;
  /**
   * A lab work dir (the environment's `workDir`) whose `pids` file records every process of these instances the
   * moment it is spawned, so that `lab reap` stops them when the lab itself was SIGKILLed (an instance does not
   * notice that its lab is gone, and no work dir holds its cwd). Default: not recorded.
   */
  readonly recordIn?: string;
}

/** Something that happened to an instance's process (see `InstanceEvent` in the model's history). */
export interface LifecycleEvent {
  readonly instance: string;
  readonly event: InstanceEvent;
  readonly pid?: number;
  /** An exit's `code` and `signal`. */
  readonly detail?: Record<string, unknown>;
}

export type LifecycleListener = (e: LifecycleEvent) => void;

/** An instance's consumer-group gauges, see {@link CoordinatorInstance.groupMembership}. */
export interface GroupMembership {
  readonly joinedAtMs: number;
  readonly owned: number;
}

export class CoordinatorInstance {
  private proc: ManagedProcess | undefined;
  private readonly listeners = new Set<LifecycleListener>();
  /** The pid whose readiness was told (once per life). */
  private readyPid: number | undefined;
  readonly logFile: string;
  /** libfaketime's timestamp file of this instance: the offset of its wall clock. */
  readonly clockFile: string;
  private offsetMs = 0;
  private clockControlled = false;
  private entryPath: string;

  constructor(
    readonly index: number,
    readonly id: string,
    private port: number,
    private readonly opts: InstanceOptions,
  ) {
    this.logFile = join(opts.logDir, `${id}.log`);
    this.clockFile = join(opts.logDir, `${id}.faketime`);
    this.entryPath = opts.entry;
  }

  /** Tells `listener` what happens to this instance's processes from now on; the answer stops it. */
  onLifecycle(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(event: InstanceEvent, pid: number | undefined, detail?: Record<string, unknown>): void {
    for (const l of this.listeners) {
      try {
        l({ instance: this.id, event, ...(pid !== undefined && { pid }), ...(detail !== undefined && { detail }) });
      } catch {
        // A listener's mistake must not stop, kill or start anything differently.
      }
    }
  }

  /** The built entry point this instance's next start runs. */
  get entry(): string {
    return this.entryPath;
  }

  /** Another build for the next start (a rolling upgrade); the running process is not touched. */
  setEntry(entry: string): void {
    if (!existsSync(entry)) throw new InvalidArgumentError('entry', entry, 'the built entry point of the service');
    this.entryPath = entry;
  }

  /** The HTTP port; a new one if the chosen one was taken before the instance could bind it. */
  private get envPrefix(): string {
    return this.opts.envPrefix ?? 'COORDINATOR';
  }

  /** How long a graceful stop may take before SIGKILL. */
  get stopTimeoutMs(): number {
    return this.opts.stopTimeoutMs ?? 15_000;
  }

  /** How long {@link waitReady} waits for `/readyz` by default. */
  get readyTimeoutMs(): number {
    return this.opts.readyTimeoutMs ?? 30_000;
  }

  get httpPort(): number {
    return this.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts a CPU profile of this life's process (through its inspector); the answer stops it and returns it. */
  async startCpuProfile(samplingIntervalUs?: number): Promise<() => Promise<CpuProfile>> {
    if (!this.proc) throw new LabError(`${this.id}: not running; nothing to profile`);
    return this.proc.startCpuProfile(samplingIntervalUs);
  }

  /** Resolves when the current process exits (immediately if none runs). */
  async exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.proc ? this.proc.exited : { code: null, signal: null };
  }

  /** Starts the process; `extraEnv` applies to this start only (e.g. a fail-point for one life). */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    if (this.running) return;
    const faked = this.opts.clockControl ?? false;
    // A skewed clock stays skewed across restarts, as a machine's would: the file is this instance's, not this life's.
    if (faked) await this.writeClockFile(this.offsetMs);
    const shared = { ...this.opts.env, ...this.opts.envFor?.(this.index) };
    this.clockControlled = faked;
    this.proc = await ManagedProcess.spawn({
      name: this.id,
      command: process.execPath,
      // LAB_INSTANCE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the instances of a run.
      // A shutdown that hangs leaves a diagnostic report next to the logs (its stack and open handles): the run
      // folder then says what it waited on, if its event loop turns at all.
      args: [
        '--report-on-signal',
        `--report-signal=${DIAGNOSTIC_SIGNAL}`,
        `--report-directory=${dirname(this.logFile)}`,
        // Its inspector opens only on SIGUSR1 (a stop timeout), on a free port of 127.0.0.1: a stop that spins
        // is paused there and its JavaScript stack logged (fuzz seed 5 on 04a4f4b: main thread R, no report).
        '--inspect-port=127.0.0.1:0',
        ...(process.env.LAB_INSTANCE_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
        this.entryPath,
      ],
      logFile: this.logFile,
      stopTimeoutMs: this.stopTimeoutMs,
      ...(this.opts.recordIn && {
        onSpawn: (pid: number) => recordPidSync(this.opts.recordIn!, pid, process.execPath),
      }),
      diagnosticSignal: DIAGNOSTIC_SIGNAL,
      inspectOnHang: true,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        // The service's own shutdown deadline falls 5 s before the lab's SIGKILL, so a stop that hangs is reported by
        // the service itself (which step it waited on) while its event loop still turns, then by the lab if it does not.
        [`${this.envPrefix}_SHUTDOWN_TIMEOUT_MS`]: String(Math.max(1000, this.stopTimeoutMs - 5000)),
        ...shared,
        ...(faked && {
          LD_PRELOAD: [shared.LD_PRELOAD, LIBFAKETIME].filter(Boolean).join(':'),
          FAKETIME_TIMESTAMP_FILE: this.clockFile,
          FAKETIME_NO_CACHE: '1',
          FAKETIME_DONT_FAKE_MONOTONIC: '1',
        }),
        [`${this.envPrefix}_INSTANCE_ID`]: this.id,
        [`${this.envPrefix}_HTTP_HOST`]: '127.0.0.1',
        [`${this.envPrefix}_HTTP_PORT`]: String(this.httpPort),
        ...extraEnv,
      },
    });
    const proc = this.proc;
    this.tell('started', proc.pid);
    void proc.exited.then((exit) => this.tell('exited', proc.pid, { code: exit.code, signal: exit.signal }));
  }

  async waitReady(timeoutMs = this.readyTimeoutMs): Promise<void> {
    const p = this.proc;
    if (!p) throw new ProviderStartError(this.id, 'was never started', { logFile: this.logFile });
    await p.waitUntil(
      `${this.url}/readyz answers 200`,
      async () => (await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok,
      timeoutMs,
      100,
    );
    if (p.pid !== this.readyPid) {
      this.readyPid = p.pid;
      this.tell('ready', p.pid);
    }
  }

  /** Graceful: SIGTERM, then SIGKILL after the stop timeout. Returns the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.tell('stopping', this.pid);
    return (await this.proc?.stop())?.code ?? null;
  }

  async kill(): Promise<void> {
    if (this.running) this.tell('killed', this.pid);
    await this.proc?.kill();
  }

  pause(): void {
    if (this.running) this.tell('paused', this.pid);
    this.proc?.pause();
  }

  resume(): void {
    if (this.running) this.tell('resumed', this.pid);
    this.proc?.resume();
  }

  async restart(extraEnv: Record<string, string> = {}): Promise<void> {
    await this.stop();
    await this.startReady(extraEnv);
  }

  /**
   * Starts the process and waits for /readyz. A port picked by `freePort()`
   * can be taken by another process (another suite's broker, say) before the
   * instance binds it: when the instance exits saying EADDRINUSE, it gets a
   * fresh port, at most MAX_PORT_ATTEMPTS times in all. Any other failure is
   * reported as it is.
   */
  async startReady(extraEnv: Record<string, string> = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.start(extraEnv);
      try {
        await this.waitReady();
        return;
      } catch (err) {
        const taken =
          !this.running &&
          attempt < MAX_PORT_ATTEMPTS &&
          (await readFile(this.logFile, 'utf8').catch(() => '')).includes(
            `EADDRINUSE: address already in use 127.0.0.1:${this.port}`,
          );
        if (!taken) throw err;
        this.port = await freePort();
      }
    }
  }

  /** The offset of this instance's wall clock from true time (0 unless a clock-skew fault set one). */
  get clockOffsetMs(): number {
    return this.offsetMs;
  }

  /**
   * Moves this instance's wall clock to true time + `offsetMs` (0: back to true time). It applies at the
   * process's next clock read, and to its later lives too, until set again. Refused when the instance was not
   * started under libfaketime.
   */
  async setClockOffset(offsetMs: number): Promise<void> {
    if (!Number.isInteger(offsetMs) || Math.abs(offsetMs) > MAX_CLOCK_OFFSET_MS)
      throw new InvalidArgumentError('offsetMs', offsetMs, `an integer number of ms within ±${MAX_CLOCK_OFFSET_MS}`);
    if (!this.clockControlled) {
      if (!libfaketimeAvailable())
        throw new MissingDependencyError(LIBFAKETIME, 'install the apt package faketime (scripts/setup.sh does)');
      throw new LabError(`${this.id} was started without libfaketime (clockControl: false): its clock cannot move`);
    }
    await this.writeClockFile(offsetMs);
    this.offsetMs = offsetMs;
  }

  private async writeClockFile(offsetMs: number): Promise<void> {
    // libfaketime reads the file at every clock read: a rename swaps it whole, where a rewrite in place could be
    // read half-written.
    const tmp = `${this.clockFile}.tmp`;
    await mkdir(this.opts.logDir, { recursive: true });
    await writeFile(tmp, faketimeOffset(offsetMs) + '\n');
    await rename(tmp, this.clockFile);
  }

  /**
   * What the instance reports of its consumer-group membership now: when it last joined (epoch ms, by its own
   * clock; 0 before this process's first join) and how many input partitions it owns. Undefined when it does
   * not answer within `timeoutMs` (stopped, paused, killed).
   */
  async groupMembership(timeoutMs = 1000): Promise<GroupMembership | undefined> {
    if (!this.running) return undefined;
    const text = await this.metrics(timeoutMs).catch(() => undefined);
    if (text === undefined) return undefined;
    const s = groupState(text);
    return { joinedAtMs: s.joinedAt * 1000, owned: s.owned };
  }

  /** Fetches the instance's Prometheus exposition text. */
  async metrics(timeoutMs = 2000): Promise<string> {
    const r = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    return r.text();
  }
}

export class CoordinatorInstances implements AsyncDisposable {
  private constructor(readonly all: readonly CoordinatorInstance[]) {}

  static async start(opts: InstanceOptions): Promise<CoordinatorInstances> {
    const count = opts.count ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > 32) {
      throw new InvalidArgumentError('count', count, 'an integer from 1 to 32');
    }
    if (!existsSync(opts.entry)) {
      throw new InvalidArgumentError(
        'entry',
        opts.entry,
        'the built entry point of the service (run `npm run build` first)',
      );
    }
    if (opts.envPrefix !== undefined && !/^[A-Z][A-Z0-9_]*$/.test(opts.envPrefix))
      throw new InvalidArgumentError('envPrefix', opts.envPrefix, 'an upper-case variable prefix such as INGEST');
    if (opts.clockControl === true && !libfaketimeAvailable())
      throw new MissingDependencyError(LIBFAKETIME, 'install the apt package faketime (scripts/setup.sh does)');
    const list: CoordinatorInstance[] = [];
    for (let i = 0; i < count; i++)
      list.push(
        new CoordinatorInstance(
          i,
          opts.idPrefix === undefined ? instanceId(i + 1) : `${opts.idPrefix}-${i + 1}`,
          await freePort(),
          opts,
        ),
      );
    const set = new CoordinatorInstances(list);
    try {
      await Promise.all(list.map((x) => x.startReady()));
    } catch (err) {
      await set.stop();
      throw err;
    }
    return set;
  }

  /** {@link CoordinatorInstance.onLifecycle} for every instance; the answer stops them all. */
  onLifecycle(listener: LifecycleListener): () => void {
    const stops = this.all.map((x) => x.onLifecycle(listener));
    return () => stops.forEach((stop) => stop());
  }

  get(index: number): CoordinatorInstance {
    const x = this.all[index];
    if (!x) throw new InvalidArgumentError('index', index, `an instance index from 0 to ${this.all.length - 1}`);
    return x;
  }

  /**
   * Waits until the instances together own `partitions` input partitions,
   * each owns some, and that holds for `holdMs` — i.e. the consumer group has
   * settled. On the mock broker every join or leave costs a rebalance of about
   * (session timeout − 1 s), and simultaneous joins can crash a member that
   * then rejoins; a workload published before this point measures rebalances.
   * Reads each instance's `coordinator_assigned_partitions` and
   * `coordinator_group_joined_timestamp_seconds` metrics.
   *
   * Seen on the mock broker at start-up: a member that missed a rebalance
   * keeps reporting its old assignment while the others settle in a newer
   * generation (owned 9, 9, 9 of 18), and nothing tells it so for as long as
   * it stays idle. When the members claim more partitions than exist for
   * `staleMs`, the one that joined longest ago is the stale one: it is
   * restarted, and `onStale` says so (the caller reports it; it is not hidden).
   */
  /**
   * When a member last joined the consumer group (epoch ms), from each instance's
   * `coordinator_group_joined_timestamp_seconds`; undefined when none answers. A join means the group
   * rebalanced then: every member's partitions were revoked and handed out again.
   */
  async lastGroupJoinMs(): Promise<number | undefined> {
    const states = await Promise.all(this.all.map(async (x) => groupState(await x.metrics().catch(() => ''))));
    // An instance whose clock the nemesis moved ahead reports joins "in the future": not evidence, left out.
    const now = Date.now();
    const latest = Math.max(0, ...states.map((s) => s.joinedAt * 1000).filter((t) => t <= now + 1000));
    return latest > 0 ? latest : undefined;
  }

  /**
   * Whether the group is rebalancing now: a running instance that answers its metrics owns no input partition
   * (`coordinator_assigned_partitions` is 0 from a revocation or a consumer crash until the next assignment).
   * An instance that does not answer (killed, paused) is no evidence either way.
   */
  async groupRebalancing(): Promise<boolean> {
    const owned = await Promise.all(
      this.all
        .filter((x) => x.running)
        .map(async (x) => {
          const text = await x.metrics().catch(() => undefined);
          return text === undefined ? undefined : groupState(text).owned;
        }),
    );
    return owned.some((n) => n === 0);
  }

  async waitForBalancedGroup(
    partitions: number,
    opts: { timeoutMs?: number; holdMs?: number; staleMs?: number; onStale?: (line: string) => void } = {},
  ): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const holdMs = opts.holdMs ?? 1000;
    const staleMs = opts.staleMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let since: number | undefined;
    let overSince: number | undefined;
    let last: { owned: number; joinedAt: number }[] = [];
    for (;;) {
      last = await Promise.all(this.all.map(async (x) => groupState(await x.metrics().catch(() => ''))));
      const total = last.reduce((a, b) => a + b.owned, 0);
      const balanced = last.every((s) => s.owned > 0) && total === partitions;
      if (balanced) {
        since ??= Date.now();
        if (Date.now() - since >= holdMs) return;
      } else {
        since = undefined;
      }
      if (total > partitions) {
        overSince ??= Date.now();
        if (Date.now() - overSince >= staleMs) {
          const stalest = last.reduce((a, s, i) => (s.owned > 0 && s.joinedAt < last[a]!.joinedAt ? i : a), 0);
          const x = this.all[stalest]!;
          opts.onStale?.(
            `the members claim ${total} of ${partitions} partitions (${last.map((s) => s.owned).join(', ')}) for ${staleMs} ms: ${x.id}, which joined longest ago, holds a stale assignment; restarting it`,
          );
          await x.restart();
          overSince = undefined;
        }
      } else {
        overSince = undefined;
      }
      if (Date.now() > deadline) {
        throw new LabTimeoutError(
          `the consumer group to settle on ${partitions} partitions (owned: ${last.map((s) => s.owned).join(', ')})`,
          timeoutMs,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((x) => x.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** The two group gauges of one instance's metrics text (0 when absent or unreachable). */
function groupState(text: string): { owned: number; joinedAt: number } {
  const owned = /^coordinator_assigned_partitions(?:\{[^}]*\})? (\d+)/m.exec(text);
  const joined = /^coordinator_group_joined_timestamp_seconds(?:\{[^}]*\})? ([\d.e+]+)/m.exec(text);
  return { owned: owned ? Number(owned[1]) : 0, joinedAt: joined ? Number(joined[1]) : 0 };
}
