/**
 * @chaos-lab/bench — the benchmark behind `npm run bench` (src/main.ts).
 * The pure parts are exported for tests and for anyone reading a bench JSON.
 */
export * from './parse.js';
export * from './goals.js';
export * from './report.js';
