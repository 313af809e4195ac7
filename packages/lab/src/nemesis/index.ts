export * from './types.js';
export {
  implementationOf,
  definitionOf,
  faultLabel,
  faultResources,
  disabledBy,
  unsupportedFaults,
  faultMakers,
  FAULT_KINDS,
  faultKindDescriptions,
  type Catalogue,
  type UnsupportedFault,
} from './catalogue.js';
export { runNemesis, type NemesisOptions } from './runner.js';
export { COMMIT_CRASH_POINTS, type CommitCrashPoint } from './process-faults.js';
export { observedClockSkew } from './clock-faults.js';
export {
  planFaults,
  eachKindOnce,
  type FaultMaker,
  type FaultDrawContext,
  type FaultScheduleOptions,
  type EachKindOnceOptions,
} from './plan/fault-schedule.js';
export { planMixedFaults, type MixedFaultOptions } from './plan/mixed-faults.js';
