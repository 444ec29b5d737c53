/**
 * Windows from a Prometheus server (`--prometheus URL`, PROMETHEUS_URL, or the local stack's own
 * when `prometheus.enabled`): the alerts' "for 5m" / "for 3m" as the run of subquery points above
 * the threshold, and "in 5m" as `increase(...[5m])` over the real series.
 */

import { managementRequest } from '../../clients/rabbitmq-management.js';
import { maskUrl } from '../../lib/redact.js';
import { withTimeout } from '../collectors/timeout.js';
import { BACKLOG_MESSAGES } from '../rules/rabbitmq.js';
import { queueDepthExpr, WORKERS_ACTIVE_EXPR } from './promql.js';
import type { Held, Windows } from './types.js';

type Point = [number, string];

/**
 * `increase(m[5m])`, plus the whole value of series born inside the window: a label set a
 * counter creates on its first increment (the first INTERNAL_ERROR, a new language) has no
 * earlier sample, and increase() alone would count a burst that created it as nothing.
 */
export function increaseInclNew(metric: string): string {
  return `((increase(${metric}[5m]) and ${metric} offset 5m) or (${metric} unless ${metric} offset 5m))`;
}
interface PromResult {
  metric: Record<string, string>;
  value?: Point;
  values?: Point[];
}

/** Subquery resolution: fine enough for "for 3m" at the guides' 15 s scrape interval. */
const STEP = '15s';
const RANGE = '6m';

export class PrometheusWindows {
  readonly target: string;

  constructor(private readonly url: string) {
    this.target = maskUrl(url);
  }

  private async query(expr: string, at: number, signal: AbortSignal): Promise<PromResult[]> {
    const { base, headers } = managementRequest(this.url);
    const u = new URL(`${base}/api/v1/query`);
    u.searchParams.set('query', expr);
    u.searchParams.set('time', String(at / 1000));
    const res = await fetch(u, { headers, signal });
    const body = (await res.json().catch(() => ({}))) as {
      status?: string;
      error?: string;
      data?: { result?: PromResult[] };
    };
    if (!res.ok || body.status !== 'success') {
      throw new Error(
        `GET ${this.target}/api/v1/query → HTTP ${res.status}${body.error ? `: ${body.error}` : ''}`,
      );
    }
    return body.data?.result ?? [];
  }

  /** Queries every window at `now`; throws when the server does not answer. */
  async windows(now: number, timeoutMs: number): Promise<Omit<Windows, 'cpu'>> {
    const signal = AbortSignal.timeout(timeoutMs);
    const work = async () => {
      const q = (expr: string) => this.query(expr, now, signal);
      const [up, depth, active, workerUp, byStatus, sandbox, buckets] = await Promise.all([
        q(`up[${RANGE}]`),
        q(`${queueDepthExpr()}[${RANGE}:${STEP}]`),
        q(`${WORKERS_ACTIVE_EXPR}[${RANGE}:${STEP}]`),
        q(`max(up{job=~".*worker.*"})[${RANGE}:${STEP}]`),
        q(`sum by (status) (${increaseInclNew('sentinel_executions_total')})`),
        q('sum(increase(sentinel_sandbox_failures_total[5m]))'),
        q(`sum by (le) (${increaseInclNew('sentinel_execution_duration_seconds_bucket')})`),
      ]);
      const oldest = Math.min(...up.flatMap((r) => (r.values ?? []).map((p) => p[0] * 1000)), now);
      const historySeconds = Math.max(0, (now - oldest) / 1000);
      const seconds = Math.min(300, historySeconds);
      const source = 'prometheus' as const;
      const held = (r: PromResult[], holds: (v: number) => boolean, needsNow: boolean): Held | null => {
        const points = (r[0]?.values ?? []).map(([t, v]) => ({ at: t * 1000, v: Number(v) }));
        const last = points[points.length - 1];
        // The newest point must be recent (one step), else the series is gone: not "held".
        const current = last !== undefined && now - last.at <= 30_000;
        if (needsNow && !current) return null;
        let start: number | undefined;
        for (let i = points.length - 1; i >= 0; i--) {
          if (!holds(points[i]!.v)) break;
          start = points[i]!.at;
        }
        return {
          heldSeconds: start === undefined || !current ? 0 : (now - start) / 1000,
          historySeconds,
          source,
        };
      };
      const scalar = (r: PromResult[]) => (r[0]?.value ? Number(r[0].value[1]) : null);
      const statuses: Record<string, number> = {};
      for (const r of byStatus) {
        if (r.metric.status && r.value) statuses[r.metric.status] = Math.round(Number(r.value[1]));
      }
      const bucketList = buckets
        .filter((r) => r.metric.le !== undefined && r.value)
        .map((r) => ({
          leMs: r.metric.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(r.metric.le) * 1000,
          count: Math.round(Number(r.value![1])),
        }))
        .sort((a, b) => a.leMs - b.leMs);
      const sandboxCount = scalar(sandbox);
      const workerSeries = workerUp[0]?.values ?? [];
      return {
        source,
        historySeconds,
        backlog: held(depth, (v) => v > BACKLOG_MESSAGES, true),
        workerDown: held(active, (v) => v < 1, true),
        workerUnreachable: workerSeries.length > 0 ? held(workerUp, (v) => v < 1, false) : null,
        executions: byStatus.length ? { byStatus: statuses, seconds, source } : null,
        sandboxFailures: sandboxCount === null ? null : { count: Math.round(sandboxCount), seconds, source },
        duration: bucketList.length ? { buckets: bucketList, seconds, source } : null,
      };
    };
    return withTimeout(work(), timeoutMs);
  }
}
