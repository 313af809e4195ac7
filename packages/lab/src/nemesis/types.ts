/**
 * The nemesis: faults as data. A {@link FaultSpec} is a plain JSON object —
 * it goes into the run's plan, so a replay injects exactly the same faults —
 * and each kind has one implementation (in the module of its family) that
 * starts it and returns an {@link ActiveFault} that ends it.
 *
 * Every fault must show that it took effect: its implementation returns
 * evidence (an error count that rose, a latency measured through the proxy,
 * a process that is really gone or stopped, a store that is really empty).
 * A fault without evidence fails the run — a chaos test whose faults silently
 * did nothing proves nothing.
 */
import type { LinkName, ToxicSpec } from '../links/links.js';
import type { Links } from '../links/links.js';
import type { StartedEnvironment } from '../environment/index.js';
import type { ProviderCapabilities } from '../environment/capabilities.js';
import type { CoordinatorInstances } from '../instances/instances.js';

/**
 * The coordinator's crash points (its `COORDINATOR_FAILPOINTS` names), each between two durable steps of one
 * input: after the Postgres commit and before the Kafka offset (a consumer that is not idempotent duplicates
 * work there), and after the Redis proposal and before the Postgres transaction (Redis ahead of Postgres; a
 * consumer that commits offsets early loses the input, and the rest of its settled-together run).
 */
export const COMMIT_CRASH_POINTS = ['after-commit-before-offset', 'after-cache-before-store'] as const;
export type CommitCrashPoint = (typeof COMMIT_CRASH_POINTS)[number];

export type FaultSpec =
  /** A Toxiproxy toxic on one instance's link (`target` = instance id) or on every instance's (`all`). */
  | { readonly kind: 'link-toxic'; readonly link: LinkName; readonly target: string; readonly toxic: ToxicSpec }
  /** The link's proxy disabled: open connections closed, new ones refused. */
  | { readonly kind: 'link-down'; readonly link: LinkName; readonly target: string }
  /** SIGKILL; the instance is started again when the fault ends. */
  | { readonly kind: 'kill'; readonly target: string }
  /** SIGSTOP for the whole window (longer than the session timeout: a zombie), SIGCONT at the end. */
  | { readonly kind: 'pause'; readonly target: string }
  /** Graceful restart (SIGTERM, start, ready). */
  | { readonly kind: 'restart'; readonly target: string }
  /** Every instance restarted in turn, each ready before the next goes down. */
  | { readonly kind: 'rolling-restart' }
  /**
   * Every instance restarted in turn onto the current build, from the baseline build it ran (an earlier commit),
   * each ready before the next goes down: old and new versions side by side in between. Only a suite with a
   * baseline plans it (the mixed nemesis never draws it).
   */
  | { readonly kind: 'rolling-upgrade' }
  /**
   * The instance restarts with a fail-point that SIGKILLs it the `nth` time it reaches `at` (one of
   * {@link COMMIT_CRASH_POINTS}: between two durable steps of one input); started clean at the end.
   */
  | {
      readonly kind: 'commit-boundary-crash';
      readonly target: string;
      readonly nth: number;
      readonly at: CommitCrashPoint;
    }
  /** Redis restarted without persistence: all coordination state gone. */
  | { readonly kind: 'redis-restart' }
  /** PostgreSQL restarted (fast shutdown, same data). */
  | { readonly kind: 'postgres-restart' }
  /** Redis a replica of an unreachable master for the window: data kept, reads served, writes answered READONLY. */
  | { readonly kind: 'redis-readonly' }
  /** A Lua busy loop holds Redis for the window: every other command answered BUSY. */
  | { readonly kind: 'redis-busy' }
  /** PostgreSQL's transactions read-only for the window (`default_transaction_read_only`): writes fail with 25006. */
  | { readonly kind: 'postgres-readonly' }
  /** A Kafka broker refuses connections for the window. */
  | { readonly kind: 'broker-down'; readonly broker: number }
  /** Partition leadership moves to another broker. */
  | { readonly kind: 'leader-move'; readonly topic: string; readonly partition: number; readonly broker: number }
  /** The broker answers the next requests of an API with these errors. */
  | { readonly kind: 'request-errors'; readonly api: string; readonly errors: readonly string[] }
  /** The instance's wall clock (`Date.now()`) moved by `offsetMs` (libfaketime), back to true at the end; its monotonic clock is untouched. */
  | { readonly kind: 'clock-skew'; readonly target: string; readonly offsetMs: number };

export type FaultKind = FaultSpec['kind'];

export interface PlannedFault {
  /** Milliseconds after the workload starts. */
  readonly at: number;
  /** How long the fault lasts. */
  readonly durationMs: number;
  readonly spec: FaultSpec;
}

export interface NemesisContext {
  readonly env: StartedEnvironment;
  readonly instances: CoordinatorInstances;
  readonly links: Links;
  /** Input topic names of the run (for leader moves). */
  readonly inputTopics: readonly string[];
  /** The current build, when the instances started on a baseline (a rolling upgrade moves them to it). */
  readonly upgradeEntry?: string;
}

/** What a fault observed about itself; `took effect` is judged from it. */
export interface FaultEvidence {
  readonly tookEffect: boolean;
  readonly detail: Record<string, unknown>;
}

export interface ActiveFault {
  /** Ends the fault; resolves with the evidence gathered over its window. */
  end(): Promise<FaultEvidence>;
}

export interface FaultImplementation<K extends FaultKind = FaultKind> {
  readonly kind: K;
  /** A short label for the timeline, e.g. `latency 200ms redis@coordinator-2`. */
  label(spec: Extract<FaultSpec, { kind: K }>): string;
  start(spec: Extract<FaultSpec, { kind: K }>, ctx: NemesisContext): Promise<ActiveFault>;
  /** Why this fault cannot run on a provider with these capabilities; undefined when it can (the default). */
  unsupported?(spec: Extract<FaultSpec, { kind: K }>, caps: ProviderCapabilities): string | undefined;
}
