/**
 * What each provider's Kafka can be made to do, in one place. The local
 * provider's librdkafka mock has a control API for every Kafka fault the
 * nemesis knows; the docker provider runs one real KRaft broker, which can be
 * stopped and started but has no control API. A suite whose planned faults
 * need what its provider lacks is refused before anything starts
 * (`unsupportedFaults` in the nemesis catalogue), in one line, instead of
 * failing half-way through a seed.
 */
import type { ProviderName } from './local/local-environment.js';

export interface ProviderCapabilities {
  readonly provider: ProviderName;
  /** The broker ids a fault may name. */
  readonly kafkaBrokerIds: readonly number[];
  /** `true`, or why partition leadership cannot be moved. */
  readonly kafkaLeaderMoves: true | string;
  /** `true`, or why the broker cannot be told to answer requests with errors. */
  readonly kafkaRequestErrors: true | string;
}

const CAPABILITIES: Readonly<Record<ProviderName, ProviderCapabilities>> = {
  local: {
    provider: 'local',
    kafkaBrokerIds: [1, 2, 3],
    kafkaLeaderMoves: true,
    kafkaRequestErrors: true,
  },
  docker: {
    provider: 'docker',
    kafkaBrokerIds: [1],
    kafkaLeaderMoves: 'one broker leads every partition',
    kafkaRequestErrors: 'a real broker cannot be told to answer with injected errors',
  },
};

export function capabilitiesOf(provider: ProviderName): ProviderCapabilities {
  return CAPABILITIES[provider];
}
