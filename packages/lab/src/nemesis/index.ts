export * from './types.js';
export { implementationOf, faultLabel } from './catalogue.js';
export { runNemesis } from './runner.js';
