/**
 * The guide sections the diagnose rules cite, in one place so a typo cannot produce a dangling
 * citation (test/unit/diagnose/collectors.test.ts checks each heading exists in the guide, or in
 * the project's docs/ for the tool's own rules).
 */
import { sources as tunerSources } from '../tuners/types.js';
import type { Source } from './types.js';

const TUNING = 'sentinel-tuning-guide.md';
const DEPLOY = 'sentinel-deployment-guide.md';
const SARK_TUNING = 'sark-tuning-guide.md';
const SARK_OPT = 'sark-optimization-guide.md';
const JACKDAW = 'jackdaw-benchmarking-guide.md';

export const diagnoseSources = {
  symptoms: tunerSources.tuningSymptoms,
  rabbitMemoryDisk: tunerSources.rabbitMemoryDisk,
  rabbitPrefetch: tunerSources.rabbitPrefetch,
  queueTuning: { guide: TUNING, section: 'RabbitMQ > Queue Tuning' },
  redis: tunerSources.redis,
  workerPoolSizing: tunerSources.workerPoolSizing,
  pgxRecommendations: tunerSources.pgxRecommendations,
  alerting: { guide: DEPLOY, section: 'Monitoring Stack > Alerting' },
  api503: { guide: DEPLOY, section: 'Troubleshooting > API Returns 503' },
  stuckQueued: { guide: DEPLOY, section: 'Troubleshooting > Jobs Stuck in QUEUED' },
  highLatency: { guide: DEPLOY, section: 'Troubleshooting > High Latency' },
  resourceTargets: tunerSources.sarkResourceTargets,
  sarkCacheHitRate: {
    guide: SARK_TUNING,
    section: 'Policy Optimization > 1. Policy Caching Strategy > Cache Performance Tuning',
  },
  sarkQueryProfiling: {
    guide: SARK_TUNING,
    section: 'Database Optimization > Query Optimization > Query Profiling',
  },
  sarkHighMemory: { guide: SARK_TUNING, section: 'Troubleshooting Performance Issues > High Memory Usage' },
  sarkPoolExhausted: { guide: SARK_OPT, section: 'Troubleshooting > Database Connection Pool Exhausted' },
  sarkRedisErrors: { guide: SARK_OPT, section: 'Troubleshooting > Redis Connection Errors' },
  sarkSlowQueries: { guide: SARK_OPT, section: 'Troubleshooting > Slow Queries' },
  sarkCacheMisses: { guide: SARK_OPT, section: 'Troubleshooting > Cache Misses' },
  sarkRedisMemory: { guide: SARK_OPT, section: 'Troubleshooting > High Memory Usage (Redis)' },
  sarkIndexUsage: { guide: SARK_OPT, section: 'Database Query Optimization > Monitoring Index Usage' },
  sarkQueryPerformance: { guide: SARK_OPT, section: 'Monitoring > Query Performance' },
  jackdawKeyAreas: { guide: JACKDAW, section: '5. Bottleneck Identification > Key areas to check' },
  design: { guide: 'docs/design.md', section: 'Diagnose rules' },
  validate: { guide: 'sentinel-tuning-guide.md', section: 'Tuning Methodology > Step 4: Validate' },
  sarkLatency: { guide: SARK_TUNING, section: 'Performance Targets > Latency Targets' },
  /** Rules that are this tool's own (no guide says so): documented in the project's docs. */
  tool: { guide: 'docs/diagnose.md', section: 'Rules of this tool' },
  windows: { guide: 'docs/diagnose.md', section: 'Windows' },
} as const satisfies Record<string, Source>;
