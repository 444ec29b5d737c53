/**
 * Worker, API and host rules: the deployment guide's alerts SentinelWorkerDown (active workers < 1
 * for 3m, critical), SentinelHighErrorRate (> 10 % for 5m, warning), SentinelSandboxFailures (> 50
 * in 5m, critical); the symptom rows "Worker CPU at 100 % → pool too large for node" and "OOM kills
 * in workers → memory limit too low"; "High Latency: worker pool too small"; "API Returns 503"; and
 * the SARK CPU and memory resource targets.
 */
import { classifyResource } from '../../tuners/resource-targets.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding, RuleContext } from '../types.js';
import { bandSeverity, heldSeconds, iso } from './common.js';
import { bytes, count, pct, secs } from './format.js';

export const WORKER_DOWN_FOR_S = 180;
export const ERROR_RATE = 0.1;
export const ERROR_RATE_FOR_S = 300;
/** Tool heuristic: fewer executions than this make a percentage noise. */
export const MIN_EXECUTIONS = 20;
export const SANDBOX_FAILURES = 50;
export const SANDBOX_WINDOW_S = 300;
/** "Worker CPU at 100 %": read as ≥ 95 % of the CPUs the worker may use. */
export const CPU_SATURATED = 0.95;

/** Terminal statuses that are not a successful run; the guide does not define "error", so all of them count. */
export function isErrorStatus(status: string): boolean {
  return status !== 'SUCCESS' && !['QUEUED', 'COMPILING', 'RUNNING'].includes(status);
}

function workerRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.worker.ok) return [];
  const w = facts.worker.facts;
  const out: Finding[] = [];
  if (w.workersActive !== null && w.workersActive < 1) {
    const since = ctx.firstSeen['worker-down'] ?? ctx.now;
    const held = heldSeconds(since, ctx.now);
    const firing = held >= WORKER_DOWN_FOR_S;
    out.push({
      id: 'worker-down',
      component: 'worker',
      severity: firing ? 'critical' : 'warning',
      title: `No active worker (sentinel_workers_active = ${w.workersActive}) for ${secs(held)}${firing ? '' : ' (alert after 3 m)'}`,
      evidence: { workersActive: w.workersActive, poolSize: w.poolSize, heldSeconds: Math.round(held) },
      detail: `The worker serves metrics but has ${w.workersActive} active pool workers of ${w.poolSize ?? '?'}: nothing consumes the queue.`,
      bottleneck: 'workers (no consumer)',
      fix: 'Check the worker log for its AMQP connection (RABBITMQ_URL) and sandbox start-up (nsjail/bwrap).',
      command: 'sentinel-ctl logs worker',
      source: src.alerting,
      since: iso(since),
    });
  }
  // Error rate: over the UI's 5-minute history when it has one, else over the sample window.
  const five = ctx.fiveMinute?.executions;
  let total = 0;
  let errors = 0;
  let seconds = ctx.windowSeconds;
  if (five && five.seconds > ctx.windowSeconds) {
    ({ total, errors, seconds } = five);
  } else if (w.executionsInWindow) {
    for (const [status, n] of Object.entries(w.executionsInWindow)) {
      total += n;
      if (isErrorStatus(status)) errors += n;
    }
  }
  if (total >= MIN_EXECUTIONS && errors / total > ERROR_RATE) {
    const since = ctx.firstSeen['high-error-rate'] ?? ctx.now - seconds * 1000;
    const held = heldSeconds(since, ctx.now);
    const firing = held >= ERROR_RATE_FOR_S;
    const breakdown = Object.entries(w.executionsInWindow ?? {})
      .filter(([s, n]) => isErrorStatus(s) && n > 0)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    out.push({
      id: 'high-error-rate',
      component: 'worker',
      severity: firing ? 'warning' : 'info',
      title: `Execution error rate ${pct(errors / total)} over ${secs(seconds)}${firing ? '' : ' (alert after 5 m)'}`,
      evidence: {
        errors,
        executions: total,
        errorRate: Number((errors / total).toFixed(3)),
        windowSeconds: Math.round(seconds),
        breakdown: breakdown || null,
      },
      detail: `${errors} of ${total} executions did not end in SUCCESS${breakdown ? ` (${breakdown})` : ''}. Program errors count too; INTERNAL_ERROR and TIMEOUT point at the platform.`,
      bottleneck: 'failing executions',
      fix: 'Look at the statuses: INTERNAL_ERROR → sandbox/worker logs; TIMEOUT → time limits or CPU starvation; compile/runtime errors → the submissions themselves.',
      command: 'sentinel-ctl logs worker',
      source: src.alerting,
      since: iso(since),
    });
  }
  const sandbox =
    ctx.fiveMinute?.sandboxFailures ??
    (w.sandboxFailuresInWindow !== null
      ? { count: w.sandboxFailuresInWindow, seconds: ctx.windowSeconds }
      : undefined);
  if (sandbox && sandbox.count > 0) {
    const projected =
      sandbox.seconds > 0 ? (sandbox.count * SANDBOX_WINDOW_S) / sandbox.seconds : sandbox.count;
    const severity =
      sandbox.count > SANDBOX_FAILURES ? 'critical' : projected > SANDBOX_FAILURES ? 'warning' : 'info';
    out.push({
      id: 'sandbox-failures',
      component: 'worker',
      severity,
      title: `${count(sandbox.count)} sandbox failure${sandbox.count > 1 ? 's' : ''} in ${secs(sandbox.seconds)}${severity === 'warning' ? ` (≈ ${Math.round(projected)} per 5 m)` : ''}`,
      evidence: {
        failures: sandbox.count,
        windowSeconds: Math.round(sandbox.seconds),
        projectedPer5m: Math.round(projected),
        total: w.sandboxFailures,
      },
      detail: `Sandboxes that could not start or broke: ${sandbox.count} in ${secs(sandbox.seconds)} (alert: > ${SANDBOX_FAILURES} in 5 m). Jobs end INTERNAL_ERROR.`,
      bottleneck: 'sandbox (nsjail/bwrap, cgroups, seccomp)',
      fix: 'Read the worker log; check the nsjail binary and configs, cgroup delegation and seccomp support on the node.',
      command: 'sentinel-ctl audit sandbox',
      source: src.alerting,
    });
  }
  const task = facts.rabbitmq.ok
    ? facts.rabbitmq.facts.queues.find((q) => q.name === ctx.taskQueue)
    : undefined;
  if (
    w.inProgress !== null &&
    w.poolSize !== null &&
    w.poolSize > 0 &&
    w.inProgress >= w.poolSize &&
    (task?.ready ?? 0) > 0
  ) {
    out.push({
      id: 'worker-pool-saturated',
      component: 'worker',
      severity: 'warning',
      title: `All ${w.poolSize} pool workers busy with ${count(task!.ready)} jobs waiting`,
      evidence: {
        inProgress: w.inProgress,
        poolSize: w.poolSize,
        ready: task!.ready,
        workerReplicas: ctx.workerReplicas,
      },
      detail: `${w.inProgress} executions in progress on a pool of ${w.poolSize} while ${count(task!.ready)} jobs wait in ${task!.name}.`,
      bottleneck: 'worker pool too small',
      fix: 'Increase POOL_SIZE (≤ min(cores, RAM GB / 0.5)) or max replicas.',
      command: 'sentinel-ctl tune keda',
      source: src.highLatency,
    });
  }
  const host = facts.host.ok ? facts.host.facts : undefined;
  if (host?.cpuUsage != null && host.cpuUsage >= CPU_SATURATED && (w.inProgress ?? 0) > 0) {
    out.push({
      id: 'worker-cpu-saturated',
      component: 'worker',
      severity: 'warning',
      title: `CPU at ${pct(host.cpuUsage)} with ${w.inProgress} executions running`,
      evidence: { cpuUsage: host.cpuUsage, cpus: host.cpus, inProgress: w.inProgress, poolSize: w.poolSize },
      detail: `${pct(host.cpuUsage)} of ${host.cpus} CPUs busy while the worker runs ${w.inProgress} sandboxes (pool ${w.poolSize ?? '?'}). Context switching hurts p99.`,
      bottleneck: 'pool too large for node',
      fix: 'Decrease WORKER_POOL_SIZE to min(CPU cores, RAM GB / 0.5), or add nodes.',
      command: 'sentinel-ctl tune pool',
      source: src.symptoms,
    });
  }
  if (host && (host.oomKillsInWindow ?? 0) > 0) {
    // Sandboxed programs killed at their own memory limit are OOM kills too: subtract them.
    const mle = w.executionsInWindow?.MEMORY_LIMIT_EXCEEDED ?? 0;
    const unexplained = host.oomKillsInWindow! - mle;
    if (unexplained > 0) {
      out.push({
        id: 'worker-oom-kills',
        component: 'worker',
        severity: 'critical',
        title: `${unexplained} OOM kill${unexplained > 1 ? 's' : ''} not explained by program memory limits`,
        evidence: { oomKills: host.oomKillsInWindow, memoryLimitExceeded: mle, source: host.oomSource },
        detail: `The kernel OOM-killed ${host.oomKillsInWindow} processes (${host.oomSource}) in the window; only ${mle} executions ended MEMORY_LIMIT_EXCEEDED. Heuristic: the rest are likely worker or service processes.`,
        bottleneck: 'memory limit too low',
        fix: 'Increase the pod memory limit (256 MB per pool worker + overhead) or lower WORKER_POOL_SIZE.',
        command: 'sentinel-ctl tune pool',
        source: src.symptoms,
      });
    }
  }
  return out;
}

function apiRules(facts: Facts): Finding[] {
  if (!facts.api.ok) return [];
  const a = facts.api.facts;
  if (a.httpStatus < 400 && /^(ok|healthy)$/i.test(a.status)) return [];
  const down = Object.entries(a.services).filter(([, v]) => !/^(ok|healthy|up)$/i.test(v));
  return [
    {
      id: 'api-unhealthy',
      component: 'api',
      severity: 'critical',
      title: `API health: ${a.status} (HTTP ${a.httpStatus})${down.length ? `, ${down.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`,
      evidence: { status: a.status, httpStatus: a.httpStatus, ...Object.fromEntries(down) },
      detail: `GET /api/v1/health answered HTTP ${a.httpStatus} with status "${a.status}"${down.length ? `; backends not ok: ${down.map(([k]) => k).join(', ')}` : ''}. Submissions get 503.`,
      bottleneck: down.length ? `API backend: ${down.map(([k]) => k).join(', ')}` : 'API',
      fix: 'PostgreSQL not ready → check it and its disk; RabbitMQ not formed → wait for quorum; Redis down → check it and its memory.',
      command: 'sentinel-ctl status',
      source: src.api503,
    },
  ];
}

function hostRules(facts: Facts): Finding[] {
  if (!facts.host.ok) return [];
  const h = facts.host.facts;
  const out: Finding[] = [];
  const where = h.scope === 'container' ? 'container' : 'host';
  if (h.cpuUsage !== null) {
    const c = classifyResource('cpu', h.cpuUsage, 1);
    const severity = bandSeverity(c);
    if (severity) {
      out.push({
        id: 'host-cpu',
        component: 'host',
        severity,
        title: `${where} CPU at ${pct(h.cpuUsage)} of ${h.cpus} CPUs`,
        evidence: { cpuUsage: h.cpuUsage, cpus: h.cpus, load1: h.load1, scope: h.scope },
        detail: `${c.reason}; load ${h.load1} / ${h.load5} (1 / 5 min).`,
        bottleneck: 'CPU',
        fix: 'Scale out, or shrink WORKER_POOL_SIZE when the sandboxes are what burns it.',
        command: 'sentinel-ctl tune pool',
        source: src.resourceTargets,
      });
    }
  }
  if (h.memoryLimit > 0) {
    const c = classifyResource('memory', h.memoryUsed, h.memoryLimit);
    const severity = bandSeverity(c);
    if (severity) {
      out.push({
        id: 'host-memory',
        component: 'host',
        severity,
        title: `${where} memory at ${pct(c.ratio)}`,
        evidence: {
          memoryUsed: h.memoryUsed,
          memoryLimit: h.memoryLimit,
          ratio: Number(c.ratio.toFixed(3)),
          scope: h.scope,
        },
        detail: `${bytes(h.memoryUsed)} of ${bytes(h.memoryLimit)}: ${c.reason}.`,
        bottleneck: 'memory',
        fix: 'Raise the memory limit or lower WORKER_POOL_SIZE (256 MB per pool worker).',
        command: 'sentinel-ctl tune pool',
        source: src.resourceTargets,
      });
    }
  }
  return out;
}

export { apiRules, hostRules, workerRules };
