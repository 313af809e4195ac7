/**
 * Every fault kind and its spec type, each declared in its family's module:
 * the plain JSON a plan holds. The catalogue (`catalogue.ts`) must give every
 * key here a definition, or it does not build.
 */
import type { LinkDownSpec, LinkToxicSpec } from './link-faults.js';
import type {
  CommitBoundaryCrashSpec,
  KillSpec,
  PauseSpec,
  RestartSpec,
  RollingRestartSpec,
  RollingUpgradeSpec,
} from './process-faults.js';
import type {
  BrokerDownSpec,
  LeaderMoveSpec,
  PostgresRestartSpec,
  RedisRestartSpec,
  RequestErrorsSpec,
} from './infra-faults.js';
import type { ClockSkewSpec } from './clock-faults.js';
import type { PostgresReadonlySpec, RedisBusySpec, RedisOutOfMemorySpec, RedisReadonlySpec } from './store-faults.js';

/** Every fault kind and its spec: the plain JSON a plan holds. */
export interface FaultSpecs {
  'link-toxic': LinkToxicSpec;
  'link-down': LinkDownSpec;
  kill: KillSpec;
  pause: PauseSpec;
  restart: RestartSpec;
  'rolling-restart': RollingRestartSpec;
  'rolling-upgrade': RollingUpgradeSpec;
  'commit-boundary-crash': CommitBoundaryCrashSpec;
  'redis-restart': RedisRestartSpec;
  'postgres-restart': PostgresRestartSpec;
  'redis-readonly': RedisReadonlySpec;
  'redis-busy': RedisBusySpec;
  'postgres-readonly': PostgresReadonlySpec;
  'broker-down': BrokerDownSpec;
  'leader-move': LeaderMoveSpec;
  'request-errors': RequestErrorsSpec;
  'clock-skew': ClockSkewSpec;
  'redis-out-of-memory': RedisOutOfMemorySpec;
}
