/**
 * Every diagnose rule, and the ranking of their findings. Pure: facts and context in, findings out
 * (docs/design.md "Diagnose rules").
 */
import { diagnoseSources as src } from '../sources.js';
import {
  type ComponentName,
  componentNames,
  type Facts,
  type Finding,
  type RuleContext,
  type Severity,
  type Source,
} from '../types.js';
import { apiTrafficRules } from './api.js';
import { executionRules } from './execution.js';
import { secs } from './format.js';
import { postgresRules } from './postgres.js';
import { queuedJobRules } from './queued.js';
import { rabbitRules } from './rabbitmq.js';
import { redisRules } from './redis.js';
import { apiRules, hostRules, workerRules } from './worker.js';

const downInfo: Record<
  ComponentName,
  { severity: Severity; bottleneck: string; fix: string; command?: string; source: Source }
> = {
  postgres: {
    severity: 'critical',
    bottleneck: 'PostgreSQL unreachable',
    fix: 'Check the server and DATABASE_URL; the API answers 503 without it.',
    command: 'sentinel-ctl status',
    source: src.api503,
  },
  rabbitmq: {
    severity: 'critical',
    bottleneck: 'RabbitMQ unreachable',
    fix: 'Check the broker (a quorum needs its nodes up) and RABBITMQ_URL / RABBITMQ_MANAGEMENT_URL.',
    command: 'sentinel-ctl status',
    source: src.api503,
  },
  redis: {
    severity: 'critical',
    bottleneck: 'Redis unreachable',
    fix: 'Verify Redis runs (redis-cli ping), REDIS_URL and its password, the network path.',
    command: 'sentinel-ctl status',
    source: src.sarkRedisErrors,
  },
  worker: {
    severity: 'critical',
    bottleneck: 'workers down (no metrics)',
    fix: 'Start the worker, or point WORKER_METRICS_URL at its /metrics (WORKER_METRICS_PORT, default 9090).',
    command: 'sentinel-ctl logs worker',
    source: src.alerting,
  },
  api: {
    severity: 'critical',
    bottleneck: 'API unreachable',
    fix: 'Start the API, or point API_URL at it; check its log.',
    command: 'sentinel-ctl logs api',
    source: src.api503,
  },
  host: {
    severity: 'warning',
    bottleneck: 'unknown (host facts unreadable)',
    fix: 'Run on Linux with /proc mounted.',
    source: src.tool,
  },
};

/** SQLSTATE 53300 too_many_connections: PostgreSQL answered, it has no slot left. */
export const PG_TOO_MANY_CONNECTIONS = '53300';

/** A collector that failed is itself a finding; the other components are still evaluated. */
export function downRules(facts: Facts, ctx?: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const name of componentNames) {
    const c = facts[name];
    if (c.ok || c.skipped) continue;
    if (
      name === 'postgres' &&
      (c.code === PG_TOO_MANY_CONNECTIONS || /too many clients|remaining connection slots/i.test(c.error))
    ) {
      // It answered: saturation, the finding the guides' resource table wants, not an outage.
      out.push({
        id: 'pg-connections-saturation',
        component: 'postgres',
        severity: 'critical',
        title: 'PostgreSQL refuses connections: every slot of max_connections is taken',
        evidence: { target: c.target, error: c.error, sqlstate: c.code ?? PG_TOO_MANY_CONNECTIONS },
        detail: `PostgreSQL at ${c.target} answered "${c.error}" (SQLSTATE 53300): the server runs, but its connections are at max_connections, so the API and workers cannot get new ones either.`,
        bottleneck: 'PostgreSQL connection slots',
        fix: 'Find who holds them (SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 as a superuser), close idle ones, size every pool so their sum + 10 ≤ max_connections.',
        command: 'sentinel-ctl tune check',
        source: src.resourceTargets,
      });
      continue;
    }
    const d = downInfo[name];
    const held = name === 'worker' ? ctx?.windows.workerUnreachable : undefined;
    out.push({
      id: `${name}-unreachable`,
      component: name,
      severity: d.severity,
      title: `${name} unreachable: ${c.error}`,
      evidence: {
        target: c.target,
        error: c.error,
        ms: c.ms,
        ...(held && held.heldSeconds > 0
          ? { heldSeconds: Math.round(held.heldSeconds), windowSource: held.source }
          : {}),
      },
      detail: `${name} at ${c.target} did not answer: ${c.error}${held && held.heldSeconds > 0 ? ` (for ${secs(held.heldSeconds)}, ${held.source})` : ''}.`,
      bottleneck: d.bottleneck,
      fix: d.fix,
      ...(d.command ? { command: d.command } : {}),
      source: d.source,
    });
  }
  return out;
}

const severityRank: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Most severe first, then by component order (the request path: API, broker, workers, stores, host). */
export function rankFindings(findings: Finding[]): Finding[] {
  const order: ComponentName[] = ['api', 'rabbitmq', 'worker', 'postgres', 'redis', 'host'];
  return [...findings].sort(
    (a, b) =>
      severityRank[a.severity] - severityRank[b.severity] ||
      order.indexOf(a.component) - order.indexOf(b.component) ||
      a.id.localeCompare(b.id),
  );
}

/** Runs every rule over the facts. */
export function evaluate(facts: Facts, ctx: RuleContext): Finding[] {
  return rankFindings([
    ...downRules(facts, ctx),
    ...postgresRules(facts, ctx),
    ...rabbitRules(facts, ctx),
    ...redisRules(facts),
    ...workerRules(facts, ctx),
    ...executionRules(facts, ctx),
    ...queuedJobRules(facts, ctx),
    ...apiRules(facts),
    ...apiTrafficRules(facts),
    ...hostRules(facts, ctx),
  ]);
}

/** The first-seen times to keep for the next refresh: those of sustained conditions still present. */
export function nextFirstSeen(findings: Finding[]): Record<string, number> {
  return Object.fromEntries(findings.filter((f) => f.since).map((f) => [f.id, Date.parse(f.since!)]));
}

export function countBySeverity(findings: Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) out[f.severity]++;
  return out;
}
