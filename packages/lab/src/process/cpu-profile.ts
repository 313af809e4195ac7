/**
 * A CPU profile of a chosen window of a Node process the lab started, taken
 * through its inspector (`inspector.ts`): V8's sampling profiler started and
 * stopped on demand, so the profile holds the window a measurement wants
 * (a saturation run, say) and not the process' start-up or idle time, which
 * a `--cpu-prof` profile of the whole life would mix in. The result is V8's
 * `Profiler.Profile`, the format of a `.cpuprofile` file (Chrome DevTools and
 * speedscope open it).
 */
import { LabError } from '../errors.js';
import { openInspector } from './inspector.js';

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

/** V8's `Profiler.Profile`: times in microseconds. */
export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  /** The node id of each sample, in order. */
  readonly samples?: readonly number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  readonly timeDeltas?: readonly number[];
}

/**
 * Starts V8's sampling profiler in process `pid` (every `samplingIntervalUs`); the answer stops it and
 * returns the profile of the window in between. Throws naming the process when its inspector cannot be opened.
 */
export async function startCpuProfile(
  name: string,
  pid: number,
  stderrText: () => string,
  samplingIntervalUs = 500,
): Promise<() => Promise<CpuProfile>> {
  const session = await openInspector(pid, stderrText, 5000);
  if (!session)
    throw new LabError(
      `${name} (pid ${pid}): its inspector did not open (the process must run with --inspect-port and be alive)`,
    );
  try {
    await session.call('Profiler.enable');
    await session.call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await session.call('Profiler.start');
  } catch (err) {
    session.close();
    throw new LabError(`${name} (pid ${pid}): could not start its CPU profiler`, { cause: err });
  }
  return async () => {
    try {
      const { profile } = await session.call<{ profile: CpuProfile }>('Profiler.stop');
      return profile;
    } finally {
      session.close();
    }
  };
}
