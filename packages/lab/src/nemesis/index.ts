export * from './types.js';
export { implementationOf, faultLabel, unsupportedFaults, FAULT_KINDS, type UnsupportedFault } from './catalogue.js';
export { runNemesis, type NemesisOptions } from './runner.js';
export { faultResources } from './resources.js';
export { observedClockSkew } from './clock-faults.js';
