import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConsumption, type ConsumptionSource } from './consumption.js';
import type { InputLog } from './input-log.js';

const logDir = mkdtempSync(join(tmpdir(), 'consumption-test-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

/**
 * A group that commits partition t/0 to its end (5) only `commitsAfterMs` after the read starts, and that
 * reports itself rebalancing for the first `rebalancingForMs`.
 */
function group(commitsAfterMs: number, rebalancingForMs: number): ConsumptionSource {
  const t0 = Date.now();
  return {
    groupProgress: async () => [
      { partition: 't/0', committed: Date.now() - t0 >= commitsAfterMs ? '5' : '4', end: '5' },
    ],
    groupRebalancing: async () => Date.now() - t0 < rebalancingForMs,
    inputLog: { valuesFrom: () => [] } as unknown as InputLog,
    logDir,
  };
}
const history = { entries: [], nowMs: () => 0 };
const ends = new Map([['t/0', 5n]]) as never;

describe('readConsumption', () => {
  it('judges a partition stuck once the bound has passed with the group settled', async () => {
    const t = Date.now();
    const c = await readConsumption(group(60_000, 0), ['t'], ends, 400, history);
    expect(c.partitions[0]).toMatchObject({ committed: '4', end: '5', stuck: {} });
    expect(Date.now() - t).toBeLessThan(1500);
  });

  it('counts the bound from the last moment the group was rebalancing (a member without partitions)', async () => {
    // Rebalancing for 1 s, committed at 1.2 s: with a 400 ms bound from the start it would be judged stuck.
    const c = await readConsumption(group(1200, 1000), ['t'], ends, 400, history);
    expect(c.partitions[0]).toEqual({ topic: 't', partition: 0, committed: '5', end: '5' });
  });
});
