/**
 * Execution time: p99 of `sentinel_execution_duration_seconds` against the tuning guide's
 * validation target (p99 total duration < 30 s, "Step 4: Validate") and its symptom row "High p99
 * latency, low CPU → pgx pool exhaustion" ("Step 3: Iterate").
 */
import type { HistogramBucket } from '../../tuners/rabbitmq.js';
import { histogramQuantile } from '../../tuners/rabbitmq.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding, RuleContext } from '../types.js';
import type { WindowSource } from '../windows/types.js';
import { count, pct, secs } from './format.js';
import { LOW_CPU } from './postgres.js';
import { windowNote } from './worker.js';

/** Tuning guide "Step 4: Validate": p99 total duration < 30 s. */
export const P99_TARGET_S = 30;
/** Tool heuristic: a p99 of fewer executions than this is the maximum of a handful. */
export const MIN_DURATION_OBSERVATIONS = 10;

/** p99 of cumulative buckets, and whether it lies beyond the last finite bucket (then it is "> le"). */
export function p99Of(buckets: HistogramBucket[]): { p99Ms: number; beyond: boolean; total: number } | null {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0 || buckets[buckets.length - 1]!.leMs !== Number.POSITIVE_INFINITY) return null;
  const finite = buckets.filter((b) => Number.isFinite(b.leMs));
  const lastFinite = finite[finite.length - 1];
  const beyond = lastFinite !== undefined && lastFinite.count < 0.99 * total;
  const p99 = histogramQuantile(0.99, buckets);
  return p99 === undefined ? null : { p99Ms: p99, beyond, total };
}

export function executionRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.worker.ok) return [];
  const w = facts.worker.facts;
  let buckets: HistogramBucket[] | undefined;
  let seconds = ctx.windowSeconds;
  let source: WindowSource = 'this run';
  let history = ctx.windowSeconds;
  const win = ctx.windows.duration;
  if (win && win.seconds > ctx.windowSeconds) {
    buckets = win.buckets;
    seconds = win.seconds;
    source = win.source;
    history = ctx.windows.historySeconds;
  }
  const p = buckets ? p99Of(buckets) : null;
  // Without a longer window: this run's own window only (never the lifetime histogram).
  const fallback =
    !p && w.duration.over === 'window' && w.duration.p99Ms !== null
      ? { p99Ms: w.duration.p99Ms, beyond: w.duration.p99Ms >= P99_TARGET_S * 1000, total: w.duration.count }
      : null;
  const r = p ?? fallback;
  if (!r || r.total < MIN_DURATION_OBSERVATIONS) return [];
  if (!(r.beyond || r.p99Ms > P99_TARGET_S * 1000)) return [];
  const cpu = facts.host.ok ? facts.host.facts.cpuUsage : null;
  const lowCpu = cpu !== null && cpu < LOW_CPU;
  const p99Text = r.beyond ? `above ${secs(P99_TARGET_S)}` : secs(r.p99Ms / 1000);
  return [
    {
      id: 'execution-p99-high',
      component: 'worker',
      severity: 'warning',
      title: `Execution p99 ${p99Text} over ${secs(seconds)} (target < 30 s)`,
      evidence: {
        p99Ms: Math.round(r.p99Ms),
        beyondLastBucket: r.beyond,
        executions: r.total,
        windowSeconds: Math.round(seconds),
        windowSource: source,
        historySeconds: Math.round(history),
        cpuUsage: cpu,
      },
      detail: `The slowest 1 % of ${count(r.total)} executions took ${p99Text} from being taken off the queue to their result being stored (${windowNote(source, history)}).${cpu !== null ? ` CPU is at ${pct(cpu)}${lowCpu ? ': high p99 with low CPU points at waiting (database pool, locks), not computing' : ''}.` : ''}`,
      bottleneck: lowCpu
        ? 'pgx pool exhaustion or lock waits (high p99, low CPU)'
        : 'workers (CPU or pool size)',
      fix: lowCpu
        ? 'Check the database pool and blocked sessions (postgres findings); increase pool_max_conns within max_connections.'
        : 'Decrease WORKER_POOL_SIZE to the cores the pod has, or add replicas.',
      command: lowCpu ? 'sentinel-ctl tune pool' : 'sentinel-ctl tune keda',
      source: lowCpu ? src.symptoms : src.validate,
    },
  ];
}
