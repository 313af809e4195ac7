export * from './types.js';
export { implementationOf, faultLabel, unsupportedFaults, type UnsupportedFault } from './catalogue.js';
export { runNemesis } from './runner.js';
