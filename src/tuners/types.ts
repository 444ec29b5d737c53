/**
 * The shape every tuner returns, and the catalogue of sections the tuners cite.
 *
 * A recommendation is a value plus why (the formula with its inputs filled in) plus where the
 * formula comes from (guide + section), so the CLI can print all three and a reviewer of a GitOps
 * diff can check the number against the guide. Warnings are data, never printed from here.
 */
import type { Fact } from './facts.js';

/** A guide (or upstream document) and the section a number or formula comes from. */
export interface Source {
  guide: string;
  section: string;
}

/**
 * How much a number can be trusted: a guide's fixed default, a guide's formula, a heuristic (labelled
 * as such, docs/formulas.md), an estimate the user should replace by a measurement, or a
 * measured value.
 */
export type Basis =
  | 'guide-default'
  | 'guide-formula'
  | 'guide-rule-of-thumb'
  | 'community-heuristic'
  | 'tool-heuristic'
  | 'estimate'
  | 'measured';

export interface TunerWarning {
  /** Stable machine-readable id, e.g. `pgx-default-pool`. */
  code: string;
  message: string;
  source?: Source;
}

export interface Recommendation<T> {
  value: T;
  /** The formula with the inputs filled in: `min(2 cores, 4 GiB / 0.5) = 2`. */
  reason: string;
  source: Source;
  basis?: Basis;
  warnings?: TunerWarning[];
}

export type Severity = 'error' | 'warning' | 'info';

/** One result of `tune check`: a contradiction between components, with the numbers and the fix. */
export interface Finding {
  id: string;
  severity: Severity;
  /** What is wrong, with the numbers that show it. */
  message: string;
  /** What to change (ideally a sentinel-ctl command or the setting and its value). */
  fix: string;
  source: Source;
  /** The facts the finding rests on, with where each came from. */
  evidence?: Record<string, Fact<unknown>>;
}

const TUNING = 'sentinel-tuning-guide.md';
const DEPLOY = 'sentinel-deployment-guide.md';
const SARK_TUNING = 'sark-tuning-guide.md';
const SARK_OPT = 'sark-optimization-guide.md';
const JACKDAW = 'jackdaw-benchmarking-guide.md';
/** The project's own formulas page, for rules that are this tool's and not a guide's. */
const FORMULAS = 'docs/formulas.md';

/** Every section the tuners cite, in one place so a typo cannot produce a dangling citation. */
export const sources = {
  apiRecommendations: { guide: TUNING, section: 'API Server > Recommendations' },
  workerPoolSizing: { guide: TUNING, section: 'Worker Service > Worker Pool Sizing' },
  workerResources: { guide: TUNING, section: 'Worker Service > K8s Resource Requests' },
  sandboxLimits: { guide: TUNING, section: 'nsjail Sandbox Limits' },
  pgxDefaults: { guide: TUNING, section: 'PostgreSQL Connection Pool > pgx Pool Defaults' },
  pgxConnString: { guide: TUNING, section: 'PostgreSQL Connection Pool > Tuning via Connection String' },
  pgxRecommendations: { guide: TUNING, section: 'PostgreSQL Connection Pool > Recommendations' },
  rabbitPrefetch: { guide: TUNING, section: 'RabbitMQ > Prefetch Count' },
  rabbitChannels: { guide: TUNING, section: 'RabbitMQ > Channel & Prefetch Tuning' },
  rabbitMemoryDisk: { guide: TUNING, section: 'RabbitMQ > Memory & Disk' },
  redis: { guide: TUNING, section: 'Redis' },
  redisUsage: { guide: TUNING, section: 'Redis > Usage in Sentinel' },
  kedaParameters: { guide: TUNING, section: 'KEDA Auto-Scaling > ScaledObject Parameters' },
  kedaBehavior: { guide: TUNING, section: 'KEDA Auto-Scaling > Scaling Behavior' },
  kedaProfiles: { guide: TUNING, section: 'KEDA Auto-Scaling > Tuning Recommendations' },
  kedaMaxWorkers: { guide: TUNING, section: 'KEDA Auto-Scaling > Calculating Max Workers' },
  tuningSymptoms: { guide: TUNING, section: 'Tuning Methodology > Step 3: Iterate' },
  deployKeda: { guide: DEPLOY, section: 'Scaling Configuration > Worker Auto-Scaling (KEDA)' },
  deployApiHpa: { guide: DEPLOY, section: 'Scaling Configuration > API HPA (CPU-based)' },
  /** The RabbitMQ Admin (management API) row: port 15672. */
  deployEndpoints: { guide: DEPLOY, section: 'Local Development (Docker Compose) > Service Endpoints' },
  sarkResourceTargets: { guide: SARK_TUNING, section: 'Performance Targets > Resource Targets' },
  sarkThroughputTargets: { guide: SARK_TUNING, section: 'Performance Targets > Throughput Targets' },
  sarkDbPooling: { guide: SARK_TUNING, section: 'Database Optimization > Connection Pooling' },
  sarkRedisMemory: { guide: SARK_TUNING, section: 'Cache Configuration > Redis Optimization' },
  sarkOptDbPooling: { guide: SARK_OPT, section: 'Database Connection Pooling' },
  sarkOptRedisPooling: { guide: SARK_OPT, section: 'Redis Connection Pooling' },
  sarkOptHighTraffic: {
    guide: SARK_OPT,
    section: 'Configuration > Performance Tuning > High Traffic (1000+ req/s)',
  },
  jackdawAsyncpg: { guide: JACKDAW, section: '6. Connection Pool Tuning > asyncpg (Postgres)' },
  jackdawRedis: { guide: JACKDAW, section: '6. Connection Pool Tuning > Redis' },
  // The project's own rules (no guide states them): docs/formulas.md gives each with its reason.
  ownConsumerTimeout: { guide: FORMULAS, section: 'Prefetch against consumer_timeout' },
  ownKedaCooldown: { guide: FORMULAS, section: 'KEDA cooldown against held work' },
  ownKedaTrigger: { guide: FORMULAS, section: 'KEDA trigger over the management API' },
  ownRedisTarget: { guide: FORMULAS, section: 'Redis maxmemory at a 75 % target' },
} as const satisfies Record<string, Source>;

/** `sentinel-tuning-guide.md › Worker Service > Worker Pool Sizing`, for tables and messages. */
export function formatSource(source: Source): string {
  return `${source.guide} › ${source.section}`;
}

/** Builds a recommendation, leaving `warnings` out when there are none (so JSON stays small). */
export function recommend<T>(
  value: T,
  reason: string,
  source: Source,
  extra: { basis?: Basis; warnings?: TunerWarning[] } = {},
): Recommendation<T> {
  const rec: Recommendation<T> = { value, reason, source };
  if (extra.basis) rec.basis = extra.basis;
  if (extra.warnings && extra.warnings.length > 0) rec.warnings = extra.warnings;
  return rec;
}

/**
 * A number as a person writes it in a formula: integers plain, fractions to at most three decimals
 * without trailing zeros (`7.625`, `0.5`, `2`, `0.999`).
 */
export function num(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '∞' : String(n);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toFixed(3)));
}

/** "1 core", "2 cores", "1.5 cores". */
export function coresText(c: number): string {
  return `${num(c)} ${c === 1 ? 'core' : 'cores'}`;
}

/** Cores from millicores, for formulas (`1500` → 1.5). */
export function cores(millicores: number): number {
  return millicores / 1000;
}

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
