import { describe, expect, it } from 'vitest';
import { NO_SNAPSHOT, runCheckers } from '@chaos-lab/model';
import { correctRun, ev } from '@chaos-lab/model/testing';
import type { FinalState } from '@chaos-lab/model';
import { OnlineMonitor, withOnlineFindings } from './online-monitor.js';

/** A monitor over a history that grows between passes; the clock is the test's. */
function monitorOf(history: () => readonly unknown[], snapshot: () => Promise<FinalState['postgres']>) {
  let now = 0;
  const lines: string[] = [];
  const m = new OnlineMonitor({
    entries: history as () => never[],
    nowMs: () => now,
    readSnapshot: snapshot,
    progress: (l) => lines.push(l),
  });
  return { m, lines, at: (ms: number) => (now = ms) };
}

describe('OnlineMonitor', () => {
  it('says nothing about a correct run, pass after pass', async () => {
    const lab = correctRun();
    const { m, at } = monitorOf(
      () => lab.history,
      async () => lab.final.postgres,
    );
    for (const t of [1000, 2000, 3000]) {
      at(t);
      await m.pass();
    }
    expect(m.result()).toEqual([]);
    expect(m.stats()).toEqual({ passes: 3, snapshotFailures: 0 });
  });

  it('dates a violation in the history by the entry that made it (the shortest failing prefix), seen at the pass', async () => {
    const lab = correctRun();
    const { m, lines, at } = monitorOf(
      () => lab.history,
      async () => NO_SNAPSHOT,
    );
    at(1000);
    await m.pass();
    lab.observe(ev.slotAssigned('b-1', 'e-3', 't-1')); // t-1 is in e-1 already
    const madeAt = lab.history.at(-1)!.time;
    lab.observe(ev.slotAssigned('b-1', 'e-1', 't-1')); // a redelivery after it changes nothing
    at(2500);
    await m.pass();
    const [f] = m.result();
    expect(f).toMatchObject({
      checker: 'no-duplicate-assignment',
      effectMs: madeAt,
      effectFrom: 'history',
      detectedMs: 2500,
      message: 'content t-1 of batch b-1 is in slots e-1 and e-3 (slot-assigned events)',
    });
    expect(lines).toEqual([
      expect.stringMatching(/^lab: online: no-duplicate-assignment violated at \+0\.0 s, seen at \+2\.5 s/),
    ]);
    // One finding per checker: later passes do not repeat it.
    at(3500);
    await m.pass();
    expect(m.result()).toHaveLength(1);
    expect(lines).toHaveLength(1);
  });

  it("dates a violation in a snapshot by its rows' settlement, by Postgres' clock; a failed read is skipped", async () => {
    const lab = correctRun();
    let fail = true;
    const { m, at } = monitorOf(
      () => lab.history,
      async () => {
        if (fail) throw new Error('connection refused');
        return lab.final.postgres;
      },
    );
    at(1000);
    await m.pass();
    expect(m.stats().snapshotFailures).toBe(1);
    fail = false;
    // A content in a second slot, settled 300 ms before the read.
    Object.assign(lab.slot('b-2', 'e-5'), {
      state: 'assigned',
      text_storage_id: 't-4',
      original_file_name: 't-4.txt',
      settled_ms_ago: 300,
    });
    at(5000);
    await m.pass();
    expect(m.result()).toEqual([
      expect.objectContaining({
        checker: 'no-duplicate-assignment',
        effectMs: 4700,
        effectFrom: 'postgres',
        detectedMs: 5000,
      }),
    ]);
  });

  it('without a settlement time, the previous snapshot bounds when it happened', async () => {
    const lab = correctRun();
    const { m, at } = monitorOf(
      () => lab.history,
      async () => lab.final.postgres,
    );
    at(1000);
    await m.pass();
    lab.batch('b-1').status = 'open'; // every slot settled, yet open — with no settled_ms_ago on the rows
    at(2000);
    await m.pass();
    expect(m.result()).toEqual([
      expect.objectContaining({ checker: 'one-ready-per-batch', effectMs: 1000, effectFrom: 'previous-snapshot' }),
    ]);
  });

  it('stop() makes a last pass and stops the timer; a finding joins the final verdicts even if the end hid it', async () => {
    const lab = correctRun();
    const { m, at } = monitorOf(
      () => lab.history,
      async () => lab.final.postgres,
    );
    m.start();
    const d = lab.closingData('b-1');
    lab.observe({ ...ev.ready('b-1', d.essays, d.validation_failures), event_id: 'another-id' });
    at(700);
    const findings = await m.stop();
    // A second ready event of one batch, under an id that is not the derived one: two checkers see it.
    expect(findings.map((f) => f.checker)).toEqual(['one-ready-per-batch', 'outputs-well-formed']);
    const passes = m.stats().passes;
    await new Promise((r) => setTimeout(r, 1200));
    expect(m.stats().passes).toBe(passes);

    // The final verdicts of the run without the extra event pass; the online finding still fails the checker.
    const clean = correctRun();
    const verdicts = withOnlineFindings(runCheckers(clean.input), findings);
    const v = verdicts.find((x) => x.checker === 'one-ready-per-batch')!;
    expect(v.valid).toBe(false);
    expect(v.firstError?.message).toMatch(/^seen online at \+0\.7 s, gone by the final read: batch b-1 has 2 distinct/);
    expect(verdicts.filter((x) => x.valid !== true).map((x) => x.checker)).toEqual([
      'one-ready-per-batch',
      'outputs-well-formed',
    ]);
  });
});
