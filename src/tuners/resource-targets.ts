/**
 * Usage against the SARK resource targets (sark-tuning-guide.md "Performance Targets > Resource
 * Targets"), as pure classifiers the diagnose rules and `tune check` share.
 *
 * The table's columns are bands: "Target <50 % pool, Warning <80 %, Critical <95 %" reads as
 * on target below 50 %, in the warning band from 50 % to below 80 %, in the critical band from 80 %
 * to below 95 %, and past every band ("exceeded") at 95 % or more.
 */
import { UserError } from '../lib/errors.js';
import { num, type Source, sources } from './types.js';

export const resourceKinds = ['cpu', 'memory', 'dbConnections', 'redisMemory'] as const;
export type ResourceKind = (typeof resourceKinds)[number];

export interface ResourceThresholds {
  target: number;
  warning: number;
  critical: number;
}

export const resourceTargets: Record<ResourceKind, ResourceThresholds> = {
  cpu: { target: 0.6, warning: 0.8, critical: 0.9 },
  memory: { target: 0.7, warning: 0.85, critical: 0.95 },
  dbConnections: { target: 0.5, warning: 0.8, critical: 0.95 },
  redisMemory: { target: 0.75, warning: 0.9, critical: 0.95 },
};

const labels: Record<ResourceKind, string> = {
  cpu: 'CPU usage',
  memory: 'memory usage',
  dbConnections: 'database connections',
  redisMemory: 'Redis memory',
};

export type ResourceLevel = 'ok' | 'warning' | 'critical' | 'exceeded';

export interface ResourceClassification {
  level: ResourceLevel;
  /** used / capacity. */
  ratio: number;
  thresholds: ResourceThresholds;
  reason: string;
  source: Source;
}

function pct(ratio: number): string {
  return `${num(ratio * 100)} %`;
}

/**
 * Classifies `used` of `capacity` for one resource kind.
 * @throws UserError when capacity is not positive or used is negative.
 */
export function classifyResource(kind: ResourceKind, used: number, capacity: number): ResourceClassification {
  if (!(capacity > 0)) throw new UserError(`${labels[kind]}: capacity must be positive, got ${capacity}.`);
  if (used < 0) throw new UserError(`${labels[kind]}: usage cannot be negative, got ${used}.`);
  const t = resourceTargets[kind];
  const ratio = used / capacity;
  const level: ResourceLevel =
    ratio < t.target ? 'ok' : ratio < t.warning ? 'warning' : ratio < t.critical ? 'critical' : 'exceeded';
  const band =
    level === 'ok'
      ? `below the ${pct(t.target)} target`
      : level === 'warning'
        ? `at or above the ${pct(t.target)} target, below ${pct(t.warning)}`
        : level === 'critical'
          ? `at or above ${pct(t.warning)}, below ${pct(t.critical)}`
          : `at or above ${pct(t.critical)}`;
  return {
    level,
    ratio,
    thresholds: t,
    reason: `${labels[kind]} ${num(used)} / ${num(capacity)} = ${pct(ratio)}: ${band}`,
    source: sources.sarkResourceTargets,
  };
}

/** Database connections in use against the pool size (`< 50 % / 80 % / 95 % of pool`). */
export function classifyDbConnections(inUse: number, poolSize: number): ResourceClassification {
  return classifyResource('dbConnections', inUse, poolSize);
}

/** Redis used_memory against maxmemory (`< 75 / 90 / 95 %`). */
export function classifyRedisMemory(usedBytes: number, maxmemoryBytes: number): ResourceClassification {
  return classifyResource('redisMemory', usedBytes, maxmemoryBytes);
}
