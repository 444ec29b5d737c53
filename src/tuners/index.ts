/**
 * The tuners: the guides' formulas as pure functions (facts in; value, reason, source out). No I/O:
 * no `node:*` imports and no clients here (docs/design.md "Logic and I/O"); collectors live elsewhere.
 */
export * from './cgroup.js';
export * from './check.js';
export * from './facts.js';
export * from './keda.js';
export * from './pg-pool.js';
export * from './postgres.js';
export * from './rabbitmq.js';
export * from './redis.js';
export * from './resource-targets.js';
export * from './types.js';
export * from './units.js';
export * from './worker-pool.js';
