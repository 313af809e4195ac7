/**
 * Environments: where the infrastructure of a run comes from. A scenario asks
 * for an environment and receives endpoints; it never knows which provider
 * made them. The provider is chosen here, from `LAB_PROVIDER`:
 *
 * - `local` (default, `local/`): real `redis-server`, real PostgreSQL and
 *   librdkafka's mock Kafka cluster, as child processes on free loopback
 *   ports, with their data in one temporary work dir that is removed on
 *   every exit path.
 * - `docker` (`docker/`): the same services as containers.
 *
 * Each environment also runs a Prometheus (unless `prometheus: false` or
 * `LAB_PROMETHEUS=0`) that scrapes the fault proxy (and the local Kafka host)
 * from the start; whoever starts instances adds them as targets
 * (`prometheus.setTargets`). Reports and the dashboard test query it.
 *
 * The contract is `contract.ts`; what each provider can do, `capabilities.ts`.
 */
import type { EnvironmentOptions, StartedEnvironment } from './contract.js';
import { providerFromEnv } from './from-env.js';
import { startLocalEnvironment } from './local/local-environment.js';

export type * from './contract.js';
export { fetchFrontFromEnv, prometheusFromEnv, providerFromEnv } from './from-env.js';
export {
  capabilitiesOf,
  requireKafkaControl,
  MissingKafkaControlError,
  type KafkaControlsOf,
  type KafkaOf,
  type ProviderCapabilities,
} from './capabilities.js';

export async function startEnvironment(opts: EnvironmentOptions): Promise<StartedEnvironment> {
  const provider = opts.provider ?? providerFromEnv();
  if (provider === 'docker') return (await import('./docker/docker-environment.js')).startDockerEnvironment(opts);
  return startLocalEnvironment(opts);
}
