/**
 * The plan-time table (`capabilitiesOf`) and the started environments' Kafka
 * handles come from one definition; this checks they agree at run time too,
 * for both providers. The types already refuse a disagreement (each Kafka
 * class `implements KafkaOf<provider>`); here the real objects are asked:
 * the local mock started for real, the docker broker's handle constructed
 * without a container (which controls it has does not depend on one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capabilitiesOf, MissingKafkaControlError, requireKafkaControl } from './capabilities.js';
import type { EnvironmentKafka, KafkaControlName } from './contract.js';
import { KafkaMockCluster } from './local/kafka-mock.js';
import { DockerKafka } from './docker/docker-kafka.js';
import type { PlannedContainer } from './docker/planned-container.js';

const CONTROLS: readonly KafkaControlName[] = [
  'leaderMoves',
  'requestErrors',
  'brokerRtt',
  'coordinatorPins',
  'topicErrors',
];

/** What a handle has, in the table's terms. */
function controlsOf(kafka: EnvironmentKafka): Record<KafkaControlName, boolean> {
  return Object.fromEntries(CONTROLS.map((c) => [c, kafka[c] !== undefined])) as Record<KafkaControlName, boolean>;
}

function tableOf(provider: 'local' | 'docker'): Record<KafkaControlName, boolean> {
  const caps = capabilitiesOf(provider);
  return Object.fromEntries(CONTROLS.map((c) => [c, caps.kafkaControls[c] === true])) as Record<
    KafkaControlName,
    boolean
  >;
}

const dir = mkdtempSync(join(tmpdir(), 'lab-capabilities-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capabilities agree with the providers', () => {
  it('the table names every control of the contract, and the two old fields read from it', () => {
    for (const p of ['local', 'docker'] as const) {
      const caps = capabilitiesOf(p);
      expect(Object.keys(caps.kafkaControls).sort()).toEqual([...CONTROLS].sort());
      expect(caps.kafkaLeaderMoves).toBe(caps.kafkaControls.leaderMoves);
      expect(caps.kafkaRequestErrors).toBe(caps.kafkaControls.requestErrors);
    }
    expect(Object.values(tableOf('local')).every(Boolean)).toBe(true);
    expect(Object.values(tableOf('docker')).some(Boolean)).toBe(false);
  });

  it('local: the started mock has exactly the controls and brokers of the table', { timeout: 30_000 }, async () => {
    await using kafka = await KafkaMockCluster.start({ logFile: join(dir, 'kafka.log') });
    expect(controlsOf(kafka)).toEqual(tableOf('local'));
    expect(kafka.brokerIds).toEqual(capabilitiesOf('local').kafkaBrokerIds);
  });

  it('docker: the broker handle has exactly the controls and brokers of the table', () => {
    // Which controls the handle has is fixed by its class; nothing here reaches the container.
    const kafka = new DockerKafka({} as PlannedContainer);
    expect(controlsOf(kafka)).toEqual(tableOf('docker'));
    expect(kafka.brokerIds).toEqual(capabilitiesOf('docker').kafkaBrokerIds);
  });

  it('requireKafkaControl hands out a control that is there and names why one is missing', () => {
    const kafka = new DockerKafka({} as PlannedContainer);
    const err = (() => {
      try {
        requireKafkaControl(kafka, 'requestErrors', 'docker');
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MissingKafkaControlError);
    expect((err as MissingKafkaControlError).control).toBe('requestErrors');
    expect((err as Error).message).toBe(
      'kafka.requestErrors is not available on the docker provider: a real broker cannot be told to answer with injected errors',
    );
    const pins = { coordinatorPins: { setCoordinator: async () => {} } } as unknown as EnvironmentKafka;
    expect(requireKafkaControl(pins, 'coordinatorPins')).toBe(pins.coordinatorPins);
  });
});
