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
import { describeWindow, type WindowSource } from '../windows/types.js';
import { bandSeverity, heldSeconds, iso } from './common.js';
import { bytes, count, pct, secs } from './format.js';

export const WORKER_DOWN_FOR_S = 180;
export const ERROR_RATE = 0.1;
export const ERROR_RATE_FOR_S = 300;
/** Tool heuristic: fewer executions than this make a percentage noise. */
export const MIN_EXECUTIONS = 20;
export const SANDBOX_FAILURES = 50;
export const SANDBOX_WINDOW_S = 300;
/** Tuning guide "Step 4: Validate": a load test should see < 5 % execution errors. */
export const VALIDATION_ERROR_RATE = 0.05;
/** A window counts as "5 minutes" from 95 % of it (samples are taken at whole seconds or cron minutes). */
export const WINDOW_COVERAGE = 0.95;
/** "Worker CPU at 100 %": read as ≥ 95 % of the CPUs the worker may use. */
export const CPU_SATURATED = 0.95;

/** Terminal statuses that are not a successful run; the guide does not define "error", so all of them count. */
export function isErrorStatus(status: string): boolean {
  return status !== 'SUCCESS' && !['QUEUED', 'COMPILING', 'RUNNING'].includes(status);
}

/** "over 4 m 10 s (sample-file, 4 m 10 s of history)": what a windowed finding says about its window. */
export function windowNote(source: WindowSource, historySeconds: number): string {
  return `window: ${describeWindow(source, historySeconds)}`;
}

function workerRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.worker.ok) return [];
  const w = facts.worker.facts;
  const out: Finding[] = [];
  const win = ctx.windows;
  if (w.workersActive !== null && w.workersActive < 1) {
    // How long: the window source's run of samples with no active worker, or this session's.
    const firstSeen = ctx.firstSeen['worker-down'];
    const sessionHeld = firstSeen === undefined ? 0 : heldSeconds(firstSeen, ctx.now);
    const fromWindow = win.workerDown?.heldSeconds ?? 0;
    const held = Math.max(sessionHeld, fromWindow);
    const source: WindowSource =
      fromWindow >= sessionHeld && win.workerDown ? win.workerDown.source : 'this run';
    const history = fromWindow >= sessionHeld && win.workerDown ? win.workerDown.historySeconds : sessionHeld;
    const firing = held >= WORKER_DOWN_FOR_S;
    out.push({
      id: 'worker-down',
      component: 'worker',
      severity: firing ? 'critical' : 'warning',
      title: `No active worker (sentinel_workers_active = ${w.workersActive}) for ${secs(held)}${firing ? '' : ' (alert after 3 m)'}`,
      evidence: {
        workersActive: w.workersActive,
        poolSize: w.poolSize,
        heldSeconds: Math.round(held),
        windowSource: source,
        historySeconds: Math.round(history),
      },
      detail: `The worker serves metrics but has ${w.workersActive} active pool workers of ${w.poolSize ?? '?'}: nothing consumes the queue (${windowNote(source, history)}).`,
      bottleneck: 'workers (no consumer)',
      fix: 'Check the worker log for its AMQP connection (RABBITMQ_URL) and sandbox start-up (nsjail/bwrap).',
      command: 'sentinel-ctl logs worker',
      source: src.alerting,
      since: iso(ctx.now - held * 1000),
    });
  }
  // Error rate: over the window source's 5 minutes when it has more than this run, else this run.
  let byStatus: Record<string, number> = w.executionsInWindow ?? {};
  let seconds = ctx.windowSeconds;
  let source: WindowSource = 'this run';
  let history = ctx.windowSeconds;
  if (win.executions && win.executions.seconds > ctx.windowSeconds) {
    ({ byStatus, seconds, source } = win.executions);
    history = win.historySeconds;
  }
  let total = 0;
  let errors = 0;
  for (const [status, n] of Object.entries(byStatus)) {
    total += n;
    if (isErrorStatus(status)) errors += n;
  }
  const breakdown = Object.entries(byStatus)
    .filter(([s, n]) => isErrorStatus(s) && n > 0)
    .map(([s, n]) => `${count(n)} ${s}`)
    .join(', ');
  const rate = total > 0 ? errors / total : 0;
  // What the alert and the validation threshold below both show.
  const measured = {
    errors,
    executions: total,
    errorRate: Number(rate.toFixed(3)),
    windowSeconds: Math.round(seconds),
    windowSource: source,
  };
  const failed = `${count(errors)} of ${count(total)} executions did not end in SUCCESS${breakdown ? ` (${breakdown})` : ''}`;
  if (total >= MIN_EXECUTIONS && rate > ERROR_RATE) {
    // "for 5m": the rate over a window that covers the whole 5 minutes.
    const firing = seconds >= ERROR_RATE_FOR_S * WINDOW_COVERAGE;
    out.push({
      id: 'high-error-rate',
      component: 'worker',
      severity: firing ? 'warning' : 'info',
      title: `Execution error rate ${pct(rate)} over ${secs(seconds)}${firing ? '' : ' (alert once it holds for 5 m)'}`,
      evidence: { ...measured, historySeconds: Math.round(history), breakdown: breakdown || null },
      detail: `${failed} (${windowNote(source, history)}). Program errors count too; INTERNAL_ERROR and TIMEOUT point at the platform.`,
      bottleneck: 'failing executions',
      fix: 'Look at the statuses: INTERNAL_ERROR → sandbox/worker logs; TIMEOUT → time limits or CPU starvation; compile/runtime errors → the submissions themselves.',
      command: 'sentinel-ctl logs worker',
      source: src.alerting,
    });
  } else if (total >= MIN_EXECUTIONS && rate > VALIDATION_ERROR_RATE) {
    out.push({
      id: 'execution-errors-above-validation',
      component: 'worker',
      severity: 'info',
      title: `Execution error rate ${pct(rate)} over ${secs(seconds)}: above the 5 % validation threshold`,
      evidence: { ...measured, breakdown: breakdown || null },
      detail: `${failed}: a load test should stay under 5 % (the alert is at 10 % for 5 m).`,
      bottleneck: 'failing executions',
      fix: 'Check which statuses dominate; program errors in the load test payloads count too.',
      command: 'sentinel-ctl logs worker',
      source: src.validate,
    });
  }
  // Sandbox failures: > 50 in 5 minutes. Counted over the window source's 5 minutes when it has
  // more than this run; a shorter window only projects (warning), it never fires the alert.
  const sandbox =
    win.sandboxFailures && win.sandboxFailures.seconds > ctx.windowSeconds
      ? { ...win.sandboxFailures, history: win.historySeconds }
      : w.sandboxFailuresInWindow !== null
        ? {
            count: w.sandboxFailuresInWindow,
            seconds: ctx.windowSeconds,
            source: 'this run' as WindowSource,
            history: ctx.windowSeconds,
          }
        : undefined;
  if (sandbox && sandbox.count > 0) {
    const projected =
      sandbox.seconds > 0
        ? (sandbox.count * SANDBOX_WINDOW_S) / Math.min(sandbox.seconds, SANDBOX_WINDOW_S)
        : sandbox.count;
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
        windowSource: sandbox.source,
        historySeconds: Math.round(sandbox.history),
      },
      detail: `Sandboxes that could not start or broke: ${count(sandbox.count)} in ${secs(sandbox.seconds)} (alert: > ${SANDBOX_FAILURES} in 5 m; ${windowNote(sandbox.source, sandbox.history)}). Jobs end INTERNAL_ERROR.`,
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
  // "Worker CPU at 100 %": sustained (≥ 30 s of the sample file) with every pool slot busy; a
  // one-second look, or CPU burnt by others while slots are free, is not this symptom.
  const cpuWin = ctx.windows.cpu && ctx.windows.cpu.seconds >= CPU_SUSTAINED_S ? ctx.windows.cpu : undefined;
  if (
    host &&
    cpuWin &&
    cpuWin.usage >= CPU_SATURATED &&
    w.inProgress !== null &&
    w.poolSize !== null &&
    w.poolSize > 0 &&
    w.inProgress >= w.poolSize
  ) {
    out.push({
      id: 'worker-cpu-saturated',
      component: 'worker',
      severity: 'warning',
      title: `CPU at ${pct(cpuWin.usage)} over ${secs(cpuWin.seconds)} with all ${w.poolSize} pool slots busy`,
      evidence: {
        cpuUsage: cpuWin.usage,
        cpus: host.cpus,
        inProgress: w.inProgress,
        poolSize: w.poolSize,
        windowSource: cpuWin.source,
      },
      detail: `${pct(cpuWin.usage)} of ${host.cpus} CPUs busy over ${secs(cpuWin.seconds)} while the worker runs ${w.inProgress} sandboxes (pool ${w.poolSize}). Context switching hurts p99.`,
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

/** Host CPU: enters at SARK's critical band (90 %), leaves below its warning band (80 %). */
export const CPU_HIGH_ENTER = 0.9;
export const CPU_HIGH_LEAVE = 0.8;
/** CPU over less than this many seconds is a snapshot: informational only. */
export const CPU_SUSTAINED_S = 30;

function hostRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.host.ok) return [];
  const h = facts.host.facts;
  const out: Finding[] = [];
  const machine = facts.host.target.replace(/ \(this machine\)$/, '');
  // Against remote targets these numbers are sentinel-ctl's own machine, not the services' hosts.
  const where = ctx.remote
    ? `this machine (${machine}, where sentinel-ctl runs, not the services' hosts)`
    : h.scope === 'container'
      ? 'container'
      : 'host';
  // SARK "Resource Targets" bands are sizing targets, not incidents: a load test on a small
  // machine reaches them by design. Read here as: over ≥ 30 s (the sample file's last minute),
  // ≥ 90 % enters a warning, which stays until it drops under 80 % (hysteresis, so cron does not
  // flap); a shorter look, or the 80–90 % band, is information. Never critical.
  const win = ctx.windows.cpu;
  const usage = win && win.seconds >= CPU_SUSTAINED_S ? win.usage : h.cpuUsage;
  const seconds = win && win.seconds >= CPU_SUSTAINED_S ? win.seconds : ctx.windowSeconds;
  if (usage !== null) {
    const sustained = seconds >= CPU_SUSTAINED_S;
    const high = sustained && (usage >= CPU_HIGH_ENTER || (win?.wasHigh === true && usage >= CPU_HIGH_LEAVE));
    const c = classifyResource('cpu', usage, 1);
    if (high || c.level !== 'ok') {
      out.push({
        id: 'host-cpu',
        component: 'host',
        severity: high ? 'warning' : 'info',
        title: `${where} CPU at ${pct(usage)} of ${h.cpus} CPUs over ${secs(seconds)}`,
        evidence: {
          cpuUsage: usage,
          cpus: h.cpus,
          load1: h.load1,
          scope: h.scope,
          windowSeconds: Math.round(seconds),
          windowSource: win && win.seconds >= CPU_SUSTAINED_S ? win.source : 'this run',
          wasHigh: win?.wasHigh ?? false,
        },
        detail: `${c.reason} (SARK bands are sizing targets: a warning only when ≥ 90 % over ≥ 30 s, cleared under 80 %); load ${h.load1} / ${h.load5} (1 / 5 min).`,
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
