/**
 * What each provider can do, in one place: the plan-time table the nemesis
 * reads (`capabilitiesOf`, a pure function of the provider name: plans are
 * drawn before anything starts) and the types the started environments'
 * Kafka handles are checked against (`KafkaControlsOf`), from the same
 * definition. The local provider's librdkafka mock has a control API for
 * every Kafka fault the nemesis knows; the docker provider runs one real
 * KRaft broker, which can be stopped and started but has no control API. A
 * suite whose planned faults need what its provider lacks is refused before
 * anything starts (`unsupportedFaults` in the nemesis catalogue), in one
 * line, instead of failing half-way through a seed.
 */
import { LabError } from '../errors.js';
import type { EnvironmentKafka, KafkaControlName, KafkaControls, ProviderName } from './contract.js';

/** Per Kafka control: `true`, or why the provider has none. */
type KafkaControlTable = { readonly [K in KafkaControlName]: true | string };

interface ProviderDefinition {
  /** The broker ids a fault may name. */
  readonly kafkaBrokerIds: readonly number[];
  readonly kafka: KafkaControlTable;
}

/** The one definition. */
const PROVIDERS = {
  local: {
    kafkaBrokerIds: [1, 2, 3],
    kafka: {
      leaderMoves: true,
      requestErrors: true,
      brokerRtt: true,
      coordinatorPins: true,
      topicErrors: true,
    },
  },
  docker: {
    kafkaBrokerIds: [1],
    kafka: {
      leaderMoves: 'one broker leads every partition',
      requestErrors: 'a real broker cannot be told to answer with injected errors',
      brokerRtt: 'a real broker has no response delay setting',
      coordinatorPins: 'one broker coordinates every group',
      topicErrors: 'a real broker reports no injected topic errors',
    },
  },
} as const satisfies Readonly<Record<ProviderName, ProviderDefinition>>;

type Has<P extends ProviderName, K extends KafkaControlName> = (typeof PROVIDERS)[P]['kafka'][K] extends true
  ? true
  : false;

/**
 * The Kafka controls a provider's handle has, as a type: each control the
 * table gives it is required, each other one must be absent. A provider's
 * Kafka class `implements` this, so a table that promises a control the
 * class lacks, or a class with a control the table denies, does not compile.
 */
export type KafkaControlsOf<P extends ProviderName> = {
  readonly [K in KafkaControlName as Has<P, K> extends true ? K : never]: KafkaControls[K];
} & {
  readonly [K in KafkaControlName as Has<P, K> extends true ? never : K]?: undefined;
};

/** A provider's Kafka handle as its provider types it. */
export type KafkaOf<P extends ProviderName> = EnvironmentKafka & KafkaControlsOf<P>;

export interface ProviderCapabilities {
  readonly provider: ProviderName;
  /** The broker ids a fault may name. */
  readonly kafkaBrokerIds: readonly number[];
  /** `true`, or why partition leadership cannot be moved. */
  readonly kafkaLeaderMoves: true | string;
  /** `true`, or why the broker cannot be told to answer requests with errors. */
  readonly kafkaRequestErrors: true | string;
  /** Every optional Kafka control: `true`, or why the provider has none. */
  readonly kafkaControls: KafkaControlTable;
}

export function capabilitiesOf(provider: ProviderName): ProviderCapabilities {
  const d: ProviderDefinition = PROVIDERS[provider];
  return {
    provider,
    kafkaBrokerIds: d.kafkaBrokerIds,
    kafkaLeaderMoves: d.kafka.leaderMoves,
    kafkaRequestErrors: d.kafka.requestErrors,
    kafkaControls: d.kafka,
  };
}

/** A Kafka control the environment's provider does not have. */
export class MissingKafkaControlError extends LabError {
  constructor(
    readonly control: KafkaControlName,
    readonly provider: ProviderName | undefined,
    readonly why: string | undefined,
  ) {
    super(`kafka.${control} is not available${provider ? ` on the ${provider} provider` : ''}${why ? `: ${why}` : ''}`);
  }
}

/**
 * The control, or a {@link MissingKafkaControlError} saying why the provider
 * lacks it — for a caller that needs the control and was not refused at plan
 * time (tests written for the local provider, say).
 */
export function requireKafkaControl<K extends KafkaControlName>(
  kafka: EnvironmentKafka,
  control: K,
  provider?: ProviderName,
): KafkaControls[K] {
  const c = kafka[control];
  if (c !== undefined) return c as KafkaControls[K];
  const why = provider === undefined ? undefined : PROVIDERS[provider].kafka[control];
  throw new MissingKafkaControlError(control, provider, typeof why === 'string' ? why : undefined);
}
