/**
 * @chaos-lab/lab — the harness, in Jepsen's roles:
 * environment (infrastructure and endpoints), instances (the system under
 * test as processes), workload (seeded plans of operations), history (what
 * was done and seen, with times and ok/fail/info outcomes), checkers (pure
 * verdicts over the history and a final read of the stores), and the
 * scenario runner that ties them together and writes every run to disk.
 */
export * from './errors.js';
export {
  startEnvironment,
  providerFromEnv,
  prometheusFromEnv,
  fetchFrontFromEnv,
  type EnvironmentOptions,
  type StartedEnvironment,
  type EnvironmentKafka,
  type KafkaControls,
  type KafkaControlName,
  type LeaderMoveControl,
  type RequestErrorControl,
  type BrokerRttControl,
  type CoordinatorPinControl,
  type TopicErrorControl,
  type StartedFaultProxy,
  type Endpoints,
  type ProviderName,
} from './environment/index.js';
export {
  IMAGE_KEYS,
  imageTag,
  isPinned,
  parseImagesEnv,
  readPinnedImages,
  findRepoRoot,
  type ImageKey,
  type PinnedImages,
} from './environment/docker/images.js';
export {
  dockerEnvironmentPlan,
  DOCKER_NETWORK,
  MAX_INSTANCES as DOCKER_MAX_INSTANCES,
  type DockerEnvironmentPlan,
  type DockerPlanOptions,
  type ContainerDefinition,
  type ProxyDefinition,
} from './environment/docker/docker-plan.js';
export { NoContainerRuntimeError, UnresolvedAliasError } from './environment/docker/docker-errors.js';
export {
  capabilitiesOf,
  requireKafkaControl,
  MissingKafkaControlError,
  type KafkaControlsOf,
  type KafkaOf,
  type ProviderCapabilities,
} from './environment/capabilities.js';
// The docker provider itself is reached through startEnvironment({ provider: 'docker' }), which loads
// testcontainers only then; its options type is exported here without loading it.
export type { DockerEnvironmentOptions } from './environment/docker/docker-environment.js';
export {
  RedisServer,
  type RedisServerOptions,
  type StartedRedisServer,
  type RedisPersistence,
} from './environment/local/redis-server.js';
export {
  PostgresServer,
  type PostgresServerOptions,
  type StartedPostgresServer,
} from './environment/local/postgres-server.js';
export {
  createWorkDir,
  formatReapReport,
  reapStaleWorkDirs,
  reapWorkDirs,
  type KeptWorkDir,
  type ReapOptions,
  type ReapReport,
  type ReapedWorkDir,
  type WorkDir,
} from './environment/local/work-dir.js';
export {
  PrometheusServer,
  type PrometheusServerOptions,
  type StartedPrometheus,
  type ScrapeTarget,
  type PromSample,
  type PromSeries,
} from './environment/local/prometheus-server.js';
export {
  startPipelineStack,
  type PipelineStackOptions,
  type StartedPipelineStack,
  type BatchClosed,
} from './stack/pipeline-stack.js';
export {
  KafkaMockCluster,
  StartedKafkaMock,
  type KafkaMockOptions,
  type KafkaMockStatus,
  type KafkaMockTopic,
} from './environment/local/kafka-mock.js';
export { KAFKA_APIS, KAFKA_ERRORS, type KafkaApi, type KafkaErrorName } from './environment/kafka-protocol.js';
export {
  CoordinatorInstances,
  CoordinatorInstance,
  libfaketimeAvailable,
  LIBFAKETIME,
  type InstanceOptions,
} from './instances/instances.js';
export {
  startCoordinatorTestBed,
  type CoordinatorTestBed,
  type CoordinatorTestBedOptions,
} from './instances/test-bed.js';
export { ManagedProcess, type ManagedProcessOptions } from './process/managed-process.js';
export { startCpuProfile, type CpuProfile, type CpuProfileNode } from './process/cpu-profile.js';
export { runAllCleanups } from './process/cleanup.js';
export { freePort } from './process/ports.js';
export { readFinalState } from './scenario/final-state.js';
export {
  runScenario,
  runSuite,
  ENVIRONMENT_HELD,
  type SuiteOptions,
  type SuiteResult,
  planOf,
  planSeed,
  compileScenario,
  SCENARIO_DEFAULTS,
  defaultRunsDir,
  type CompiledScenario,
  type ScenarioDefinition,
  type ScenarioContext,
  type RunOptions,
  type RunResult,
  type RunStats,
} from './scenario/scenario.js';
export { runScenarioMain, parseSeeds, coordinatorEntry, ingestEntry, chaosTestsEnabled } from './scenario/main.js';
export { Links, LINKS, type LinkName, type ToxicSpec, type ToxicType, type InstanceLinks } from './links/links.js';
export {
  runNemesis,
  faultLabel,
  unsupportedFaults,
  faultResources,
  observedClockSkew,
  planFaults,
  eachKindOnce,
  planMixedFaults,
  disabledBy,
  faultMakers,
  FAULT_KINDS,
  COMMIT_CRASH_POINTS,
  type CommitCrashPoint,
  type NemesisOptions,
  type UnsupportedFault,
  type FaultSpec,
  type FaultSpecs,
  type FaultKind,
  type FaultDefinition,
  type FaultMakerEntry,
  type PlannedFault,
  type FaultEvidence,
  type NemesisContext,
  type FaultMaker,
  type FaultDrawContext,
  type FaultScheduleOptions,
  type EachKindOnceOptions,
  type MixedFaultOptions,
} from './nemesis/index.js';
export { probeLink, type ProbeResult } from './nemesis/probes.js';
export { runVariantMatrix, formatVariantTable, type VariantCell } from './scenario/variant-matrix.js';
export { GROUP_COORDINATOR_BROKER } from './scenario/group.js';
export { instanceId, instanceIds } from './instances/instance-id.js';
export { buildBaseline, type BaselineBuild, type BaselineOptions } from './instances/baseline.js';
export {
  CHAOS_CHARTS,
  COORDINATOR_THROUGHPUT,
  ASSIGNMENT_LATENCY,
  CONSUMER_LAG,
  collectCharts,
  faultsFromHistory,
  verdictRows,
  logLinks,
  type ChartQuery,
} from './report/run-report.js';
export { LabMetricsServer, type FaultLabels } from './observability/lab-metrics.js';
export {
  shrinkSeed,
  restrictTo,
  readPlanSubset,
  type PlanSubset,
  type ShrinkOptions,
  type ShrinkResult,
} from './scenario/shrink.js';
