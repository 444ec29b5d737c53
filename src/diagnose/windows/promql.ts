/**
 * The deployment guide's four alerts ("Monitoring Stack > Alerting") as PromQL, in one place: the
 * rules file the local Prometheus loads (`up` with `prometheus.enabled`) and the queries diagnose
 * evaluates with `--prometheus URL` use the same expressions.
 */
import { TASK_QUEUE } from '../../services/rabbitmq/topology.js';

/** Scrape job names of the local Prometheus (a production server may use others; the queries do not filter by job). */
export const PROM_JOBS = { worker: 'sentinel-worker', api: 'sentinel-api', rabbitmq: 'rabbitmq' } as const;

/** Task queue depth: rabbitmq_prometheus' per-queue family (`/metrics/detailed`) or per-object metrics. */
export function queueDepthExpr(queue = TASK_QUEUE): string {
  return `(sum(rabbitmq_detailed_queue_messages{queue="${queue}"}) or sum(rabbitmq_queue_messages{queue="${queue}"}))`;
}

export const WORKERS_ACTIVE_EXPR = 'sum(sentinel_workers_active)';
export const ERROR_RATIO_EXPR =
  'sum(rate(sentinel_executions_total{status!="SUCCESS"}[5m])) / sum(rate(sentinel_executions_total[5m]))';

export interface GuideAlert {
  alert: string;
  expr: string;
  for?: string;
  severity: 'warning' | 'critical';
  summary: string;
}

export const guideAlerts: GuideAlert[] = [
  {
    alert: 'SentinelQueueBacklog',
    expr: `${queueDepthExpr()} > 1000`,
    for: '5m',
    severity: 'warning',
    summary: 'Queue > 1000 msgs for 5m',
  },
  {
    alert: 'SentinelWorkerDown',
    expr: `(${WORKERS_ACTIVE_EXPR} or vector(0)) < 1`,
    for: '3m',
    severity: 'critical',
    summary: 'Active workers < 1 for 3m',
  },
  {
    alert: 'SentinelHighErrorRate',
    expr: `${ERROR_RATIO_EXPR} > 0.1`,
    for: '5m',
    severity: 'warning',
    summary: 'Error rate > 10% for 5m',
  },
  {
    alert: 'SentinelSandboxFailures',
    expr: 'sum(increase(sentinel_sandbox_failures_total[5m])) > 50',
    severity: 'critical',
    summary: '> 50 failures in 5m',
  },
];

/** The rules file (YAML is a superset of JSON: written as JSON, read by Prometheus as YAML). */
export function alertRulesFile(): string {
  return `${JSON.stringify(
    {
      groups: [
        {
          name: 'sentinel (deployment guide "Monitoring Stack > Alerting")',
          rules: guideAlerts.map((a) => ({
            alert: a.alert,
            expr: a.expr,
            ...(a.for ? { for: a.for } : {}),
            labels: { severity: a.severity },
            annotations: { summary: a.summary },
          })),
        },
      ],
    },
    null,
    2,
  )}\n`;
}
