/** One-line (and a few detail lines) summaries of each component's facts, for the report and the UI. */
import { bytes, count, pct, perSec, secs } from './rules/format.js';
import type { Collected, ComponentName, DiagnoseReport, Facts } from './types.js';

export interface ComponentSummary {
  name: ComponentName;
  state: 'ok' | 'down' | 'skipped';
  /** The headline, ≤ ~60 characters. */
  line: string;
  /** Key numbers for the detail view. */
  details: string[];
}

const dash = (v: number | null | undefined, f: (n: number) => string) =>
  v === null || v === undefined ? '—' : f(v);

function down(name: ComponentName, c: Extract<Collected<unknown>, { ok: false }>): ComponentSummary {
  if (c.skipped) return { name, state: 'skipped', line: 'not checked (--components)', details: [] };
  return {
    name,
    state: 'down',
    line: c.error,
    details: [`target ${c.target}`, `error ${c.error}`, `after ${c.ms} ms`],
  };
}

export function summarize(name: ComponentName, facts: Facts, taskQueue: string): ComponentSummary {
  const c = facts[name];
  if (!c.ok) return down(name, c);
  switch (name) {
    case 'postgres': {
      const p = facts.postgres.ok ? facts.postgres.facts : undefined;
      if (!p) break;
      const usable = p.maxConnections - p.superuserReservedConnections;
      return {
        name,
        state: 'ok',
        line: `conns ${p.connections.total}/${usable} · pool ${p.connections.appInUse}/${p.pool.capacity} busy · idle-in-tx ${p.idleInTransaction.length} · cache ${dash(p.cache.hitRatio ?? p.cache.lifetimeHitRatio, pct)}`,
        details: [
          `PostgreSQL ${p.version} · max_connections ${p.maxConnections} (${p.superuserReservedConnections} reserved)`,
          `connections: ${
            Object.entries(p.connections.byState)
              .map(([s, v]) => `${v} ${s}`)
              .join(', ') || 'none'
          }`,
          `${p.connections.appUser}: ${p.connections.appTotal} open, ${p.connections.appInUse} busy; pools ${p.pool.capacity} (${p.pool.detail})`,
          `idle in transaction: ${p.idleInTransaction.map((s) => `pid ${s.pid} ${secs(s.seconds)}`).join(', ') || 'none'}`,
          `long-running: ${p.longRunning.map((s) => `pid ${s.pid} ${secs(s.seconds)}`).join(', ') || 'none'} · blocked: ${p.blocked.length}`,
          `cache hit: window ${dash(p.cache.hitRatio, pct)} (${count(p.cache.blocks)} blocks), lifetime ${dash(p.cache.lifetimeHitRatio, pct)}`,
          `commits ${dash(p.commitsPerSec, perSec)} · rollbacks ${dash(p.rollbacksPerSec, perSec)}`,
          ...(p.statStatements.available
            ? [
                `slowest in the window: ${(p.statStatements.window ?? []).length ? '' : 'none'}`,
                ...(p.statStatements.window ?? [])
                  .slice(0, 3)
                  .map((q) => `  ${q.meanMs} ms × ${q.calls}  ${q.query}`),
                'slowest since the statistics reset:',
                ...p.statStatements.top.slice(0, 3).map((q) => `  ${q.meanMs} ms × ${q.calls}  ${q.query}`),
              ]
            : [`pg_stat_statements: ${p.statStatements.reason}`]),
          ...p.longRunning.slice(0, 3).map((s) => `  pid ${s.pid} ${secs(s.seconds)}  ${s.query}`),
          `unused indexes: ${p.unusedIndexes.map((i) => i.index).join(', ') || 'none'} · dead tuples: ${
            p.bloat
              .slice(0, 2)
              .map((b) => `${b.table} ${pct(b.deadRatio)}`)
              .join(', ') || 'none'
          }`,
          `QUEUED jobs: ${p.queuedJobs ? `${count(p.queuedJobs.count)}${p.queuedJobs.oldestSeconds !== null ? `, oldest ${secs(p.queuedJobs.oldestSeconds)}` : ''}` : 'no execution_jobs table'}`,
        ],
      };
    }
    case 'rabbitmq': {
      const r = facts.rabbitmq.ok ? facts.rabbitmq.facts : undefined;
      if (!r) break;
      const q = r.queues.find((x) => x.name === taskQueue);
      const node = r.nodes[0];
      return {
        name,
        state: 'ok',
        line: q
          ? `${q.name} ${count(q.ready)} rdy ${count(q.unacked)} unack · ${q.consumers} cons · pub ${dash(q.publishRate, perSec)} ack ${dash(q.ackRate, perSec)}`
          : `${r.queues.length} queues (no ${taskQueue}) via ${r.via}`,
        details: [
          `RabbitMQ ${r.version ?? '?'} via ${r.via}${r.managementError ? ` (${r.managementError})` : ''}`,
          ...r.queues.map(
            (x) =>
              `${x.name}${x.type ? ` [${x.type}]` : ''}: ${count(x.ready)} ready, ${count(x.unacked)} unacked, ${x.consumers} consumers, utilisation ${dash(x.consumerUtilisation, pct)}, publish ${dash(x.publishRate, perSec)}, deliver ${dash(x.deliverRate, perSec)}, ack ${dash(x.ackRate, perSec)}`,
          ),
          ...r.nodes.map(
            (n) =>
              `${n.name}: memory ${bytes(n.memUsed)} / ${bytes(n.memLimit)}${n.memAlarm ? ' ALARM' : ''}, disk free ${bytes(n.diskFree)} (limit ${bytes(n.diskFreeLimit)})${n.diskAlarm ? ' ALARM' : ''}`,
          ),
          node ? '' : 'node memory and alarms: unknown over AMQP',
        ].filter(Boolean),
      };
    }
    case 'redis': {
      const r = facts.redis.ok ? facts.redis.facts : undefined;
      if (!r) break;
      return {
        name,
        state: 'ok',
        line: `mem ${bytes(r.usedMemory)}/${r.maxmemory ? bytes(r.maxmemory) : '∞'} · hit ${dash(r.hitRate ?? r.lifetimeHitRate, pct)} · evicted ${dash(r.evictedInWindow, count)} · ${dash(r.opsPerSec, perSec)}`,
        details: [
          `Redis ${r.version} · maxmemory-policy ${r.maxmemoryPolicy} · fragmentation ${r.fragmentationRatio ?? '—'}`,
          `memory ${bytes(r.usedMemory)} of ${r.maxmemory ? bytes(r.maxmemory) : 'unlimited'} · ${count(r.keys)} keys`,
          `clients ${r.connectedClients} connected, ${r.blockedClients} blocked, ${count(r.rejectedConnections)} rejected since start`,
          `hit rate: window ${dash(r.hitRate, pct)}, lifetime ${dash(r.lifetimeHitRate, pct)} · evicted ${dash(r.evictedInWindow, count)} in window, ${count(r.evictedKeys)} total`,
          `ops ${dash(r.opsPerSec, perSec)} · error replies in window ${dash(r.errorRepliesInWindow, count)} · PING ${r.latencyMs.min}/${r.latencyMs.avg}/${r.latencyMs.max} ms (min/avg/max of ${r.latencyMs.samples})`,
        ],
      };
    }
    case 'worker': {
      const w = facts.worker.ok ? facts.worker.facts : undefined;
      if (!w) break;
      const done = Object.values(w.executionsInWindow ?? {}).reduce((a, b) => a + b, 0);
      return {
        name,
        state: 'ok',
        line: `active ${dash(w.workersActive, String)}/${dash(w.poolSize, String)} · running ${dash(w.inProgress, String)} · p99 ${dash(w.duration.p99Ms, (v) => `${v} ms`)} · sandbox ${w.sandbox ?? '-'} fail ${dash(w.sandboxFailuresInWindow, count)}`,
        details: [
          `workers active ${dash(w.workersActive, String)} of pool ${dash(w.poolSize, String)}, ${dash(w.inProgress, String)} executions running`,
          `executions (lifetime): ${
            Object.entries(w.executionsByStatus)
              .map(([s, v]) => `${s} ${v}`)
              .join(', ') || 'none'
          }`,
          `in window: ${done} (${
            Object.entries(w.executionsInWindow ?? {})
              .filter(([, v]) => v > 0)
              .map(([s, v]) => `${s} ${v}`)
              .join(', ') || 'none'
          })`,
          `duration (${w.duration.over}, ${w.duration.count} obs): p50 ${dash(w.duration.p50Ms, String)} ms, p95 ${dash(w.duration.p95Ms, String)} ms, p99 ${dash(w.duration.p99Ms, String)} ms`,
          ...Object.entries(w.durationByLanguage).map(
            ([l, d]) =>
              `  ${l}: p50 ${dash(d.p50Ms, String)} ms, p99 ${dash(d.p99Ms, String)} ms (${d.count})`,
          ),
          `sandbox ${w.sandbox ?? '-'}, failures ${dash(w.sandboxFailures, count)} total, ${dash(w.sandboxFailuresInWindow, count)} in window · process CPU ${dash(w.processCpuCores, String)} cores, RSS ${dash(w.residentMemoryBytes, bytes)}`,
        ],
      };
    }
    case 'api': {
      const a = facts.api.ok ? facts.api.facts : undefined;
      if (!a) break;
      return {
        name,
        state: 'ok',
        line: `health ${a.status} (HTTP ${a.httpStatus}, ${a.latencyMs} ms) ${Object.entries(a.services)
          .map(([k, v]) => `${k}:${v}`)
          .join(' ')}`,
        details: [
          `status ${a.status}, HTTP ${a.httpStatus}, ${a.latencyMs} ms`,
          ...Object.entries(a.services).map(([k, v]) => `${k}: ${v}`),
        ],
      };
    }
    case 'host': {
      const h = facts.host.ok ? facts.host.facts : undefined;
      if (!h) break;
      return {
        name,
        state: 'ok',
        line: `CPU ${dash(h.cpuUsage, pct)} of ${h.cpus} · load ${h.load1} · mem ${bytes(h.memoryUsed)}/${bytes(h.memoryLimit)} (${pct(h.memoryUsed / h.memoryLimit)})`,
        details: [
          `${h.scope === 'container' ? 'container (cgroup limits)' : 'this machine'}: ${h.cpus} CPUs, load ${h.load1} / ${h.load5}`,
          `CPU ${dash(h.cpuUsage, pct)} over the window · memory ${bytes(h.memoryUsed)} of ${bytes(h.memoryLimit)}`,
          `OOM kills ${dash(h.oomKills, count)} (${h.oomSource ?? 'unknown'}), ${dash(h.oomKillsInWindow, count)} in window`,
        ],
      };
    }
  }
  return { name, state: 'down', line: 'no facts', details: [] };
}

export function summaries(report: DiagnoseReport, taskQueue: string): ComponentSummary[] {
  return (Object.keys(report.facts) as ComponentName[]).map((n) => summarize(n, report.facts, taskQueue));
}
