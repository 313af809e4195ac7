export * from './events.js';
export * from './topics.js';
export * from './redis-keys.js';
export * from './ids.js';
