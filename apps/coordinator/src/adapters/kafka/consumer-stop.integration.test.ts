/**
 * A coordinator stopped while its consumer rebuilds its fetchers (a broker's
 * connection dropped) must still stop. kafkajs 2.2.4, unpatched, does not:
 * its fetch manager waits for the old fetchers, then starts new ones even
 * though the consumer was stopped meanwhile, and their fetches return at once
 * (the runner is not running) — a loop of settled promises that holds the
 * event loop for ever: no timer, no signal handler, 100 % of a core, until
 * SIGKILL. Found by the fuzz suite (seed 52 on 6be2cce and 767b72f, seed 5 on
 * 04a4f4b: a restart's stop hung, main thread `R`); `patches/kafkajs+2.2.4.patch`
 * fixes it.
 *
 * The window is made wide and hit on purpose: two brokers answer after 1.5 s,
 * the third drops the connection of its next Fetch, and SIGTERM follows the
 * moment that error is taken — while the fetch manager waits out the slow
 * fetches before rebuilding.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { requireKafkaControl, startCoordinatorTestBed } from '@chaos-lab/lab';

describe('a coordinator stopped while its consumer rebuilds its fetchers', () => {
  it('exits 0 within its shutdown deadline (no spin on fetches that return at once)', async () => {
    await using bed = await startCoordinatorTestBed({
      name: 'fetchstop',
      partitions: 6,
      stopTimeoutMs: 12_000,
      env: { COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '10000' },
    });
    const { env, instances } = bed;
    const x = instances.get(0);
    await new Promise((r) => setTimeout(r, 1000)); // its fetchers running against all three brokers
    await requireKafkaControl(env.kafka, 'brokerRtt', env.provider).setBrokerRtt(2, 1500);
    await requireKafkaControl(env.kafka, 'brokerRtt', env.provider).setBrokerRtt(3, 1500);
    await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pushBrokerRequestErrors(1, 'Fetch', [
      '_TRANSPORT',
    ]);
    const deadline = Date.now() + 10_000;
    while (
      (await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pendingRequestErrors(1, 'Fetch')) > 0 &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 5));
    expect(await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pendingRequestErrors(1, 'Fetch')).toBe(
      0,
    );

    const code = await x.stop(); // its own deadline is 7 s, the lab's SIGKILL at 12 s
    await requireKafkaControl(env.kafka, 'brokerRtt', env.provider).setBrokerRtt(2, 0);
    await requireKafkaControl(env.kafka, 'brokerRtt', env.provider).setBrokerRtt(3, 0);
    const log = await readFile(x.logFile, 'utf8');
    expect(log).not.toMatch(/at its stop timeout/);
    expect(code).toBe(0);
  }, 120_000);
});
