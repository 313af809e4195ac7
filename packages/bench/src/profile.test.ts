import { describe, expect, it } from 'vitest';
import type { CpuProfile, CpuProfileNode } from '@chaos-lab/lab';
import { cpuByOwner, frameOwner, NODE_ITSELF, profileRows } from './profile.js';

const node = (id: number, functionName: string, url: string, children: number[] = []): CpuProfileNode => ({
  id,
  callFrame: { functionName, url, lineNumber: 0, columnNumber: 0 },
  children,
});

/** (root) → pg query → node:net write → native writev; coordinator → ioredis; timers; GC; idle. */
const profile = (samples: number[], deltas: number[]): CpuProfile => ({
  nodes: [
    node(1, '(root)', '', [2, 5, 7, 8, 9]),
    node(2, 'query', 'file:///w/node_modules/pg/lib/client.js', [3]),
    node(3, 'writeGeneric', 'node:internal/stream_base_commons', [4]),
    node(4, 'writev', ''),
    node(5, 'settleMany', 'file:///w/apps/coordinator/dist/domain/coordinator.js', [6]),
    node(6, 'sendCommand', 'file:///w/node_modules/ioredis/built/Redis.js'),
    node(7, 'listOnTimeout', 'node:internal/timers'),
    node(8, '(garbage collector)', ''),
    node(9, '(idle)', ''),
  ],
  startTime: 0,
  endTime: samples.length * 1000,
  samples,
  timeDeltas: deltas,
});

describe('frameOwner', () => {
  it('names packages (scoped ones whole, one client grouped), the workspace, V8 pseudo-frames; Node itself has none', () => {
    const f = (url: string, functionName = 'f') => frameOwner({ functionName, url, lineNumber: 0, columnNumber: 0 });
    expect(f('file:///w/node_modules/pg-protocol/dist/parser.js')).toBe('node-postgres');
    expect(f('file:///w/node_modules/@ioredis/commands/built/index.js')).toBe('ioredis');
    expect(f('file:///w/node_modules/@scope/thing/x.js')).toBe('@scope/thing');
    expect(f('file:///w/node_modules/a/node_modules/zod/v4/x.js')).toBe('zod');
    expect(f('file:///w/apps/coordinator/dist/service.js')).toBe('coordinator (own code)');
    expect(f('file:///w/packages/contracts/dist/x.js')).toBe('contracts');
    expect(f('', '(garbage collector)')).toBe('garbage collector');
    expect(f('node:net')).toBeUndefined();
    expect(f('', 'JSON.parse')).toBeUndefined();
  });
});

describe('cpuByOwner', () => {
  it("charges Node's frames and builtins to the nearest caller that has an owner, by each sample's interval", () => {
    // Samples: writev (pg), writeGeneric (pg), ioredis, settleMany, timers, GC, idle, idle.
    const samples = [4, 3, 6, 5, 7, 8, 9, 9];
    const deltas = [0, 1000, 2000, 1000, 1000, 1000, 1000, 1000];
    const by = cpuByOwner(profile(samples, deltas));
    expect(Object.fromEntries(by)).toEqual({
      'node-postgres': 1000 + 2000,
      ioredis: 1000,
      'coordinator (own code)': 1000,
      [NODE_ITSELF]: 1000,
      'garbage collector': 1000,
      // The last sample stands for what is left of the window: 8000 − 8000 µs.
      idle: 1000 + 0,
    });
  });

  it('sums instances, leaves idle out of the shares, largest first', () => {
    const p = profile([4, 4, 6, 9], [0, 1000, 1000, 1000]);
    const { rows, busyMs, idleMs } = profileRows([p, p]);
    expect(busyMs).toBe(6);
    expect(idleMs).toBe(2);
    expect(rows.map((r) => [r.owner, r.ms, Number(r.share.toFixed(3))])).toEqual([
      ['node-postgres', 4, 0.667],
      ['ioredis', 2, 0.333],
    ]);
  });
});
