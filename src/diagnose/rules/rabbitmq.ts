/**
 * RabbitMQ rules: the deployment guide's SentinelQueueBacklog alert (> 1000 messages for 5 min),
 * "Jobs Stuck in QUEUED" (messages and no consumer), the symptom rows "queue depth growing → not
 * enough workers" and "RabbitMQ memory alarm → too many queued messages", the disk alarm, node memory
 * against its watermark (SARK memory bands), dead letters and consumer utilisation.
 */
import { classifyResource } from '../../tuners/resource-targets.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding, QueueFacts, RuleContext } from '../types.js';
import type { WindowSource } from '../windows/types.js';
import { bandSeverity, heldSeconds, iso } from './common.js';
import { bytes, count, pct, perSec, secs } from './format.js';
import { WINDOW_COVERAGE, windowNote } from './worker.js';

/** Deployment guide "Alerting": SentinelQueueBacklog, queue > 1000 msgs for 5m, warning. */
export const BACKLOG_MESSAGES = 1000;
export const BACKLOG_FOR_S = 300;
/** Tool heuristic: below half, consumers often sit waiting for their next message (prefetch too low for fast jobs). */
export const LOW_UTILISATION = 0.5;

/** Tool heuristic: RabbitMQ's file descriptors, warning at 80 % of the limit, critical at 95 %. */
export const FD_WARNING = 0.8;
export const FD_CRITICAL = 0.95;
/** The broker's depth samples are 5 s apart: growth must show over at least this many seconds of them. */
export const GROWTH_MIN_SECONDS = 10;

/**
 * How long the backlog has held from the broker's own depth samples (5 s apart, a little more
 * than 5 minutes of them): the unbroken run above the threshold ending at the newest sample.
 */
export function brokerBacklogHeld(q: QueueFacts, now: number): { held: number; history: number } {
  const samples = q.depthSamples;
  if (samples.length === 0) return { held: 0, history: 0 };
  let i = samples.length - 1;
  while (i >= 0 && samples[i]!.messages > BACKLOG_MESSAGES) i--;
  const history = Math.max(0, (now - samples[0]!.at) / 1000);
  if (i === samples.length - 1) return { held: 0, history };
  return { held: Math.max(0, (now - samples[i + 1]!.at) / 1000), history };
}

/** Kept for the unit tests and the UI: the backlog's start from the broker's samples or the first refresh. */
export function backlogSince(q: QueueFacts, firstSeen: number | undefined, now: number): number {
  const broker = brokerBacklogHeld(q, now);
  return Math.min(firstSeen ?? now, broker.held > 0 ? now - broker.held * 1000 : now);
}

/**
 * Growth confirmed by the queue itself: the broker's depth samples rise over the last ≥ 10 s and
 * this run's own reads did not fall. The broker's `messages_details.rate` alone lags a burst that
 * has drained, so it is evidence only with the samples.
 */
export function confirmedGrowth(
  q: QueueFacts,
): { perSec: number; from: number; to: number; seconds: number } | null {
  const s = q.depthSamples;
  if (s.length < 3) return null;
  const last = s[s.length - 1]!;
  const prev = s[s.length - 2]!;
  const base = [...s].reverse().find((x) => last.at - x.at >= GROWTH_MIN_SECONDS * 1000);
  if (
    !base ||
    !(last.messages > prev.messages && prev.messages >= base.messages && last.messages > base.messages)
  )
    return null;
  if (q.depthChange && q.depthChange.to < q.depthChange.from) return null;
  if (q.messages < last.messages) return null;
  const seconds = (last.at - base.at) / 1000;
  return {
    perSec: (last.messages - base.messages) / seconds,
    from: base.messages,
    to: last.messages,
    seconds,
  };
}

function taskQueueRules(q: QueueFacts, ctx: RuleContext, via: string): Finding[] {
  const out: Finding[] = [];
  const rates = `publish ${q.publishRate === null ? '?' : perSec(q.publishRate)}, deliver ${q.deliverRate === null ? '?' : perSec(q.deliverRate)}, ack ${q.ackRate === null ? '?' : perSec(q.ackRate)}`;
  if (q.messages > BACKLOG_MESSAGES) {
    // The longest of: the broker's own samples, the window source (Prometheus or the sample
    // file), this session's first sighting. Each can only under-state how long it has held.
    const broker = brokerBacklogHeld(q, ctx.now);
    const win = ctx.windows.backlog;
    const session =
      ctx.firstSeen['queue-backlog'] === undefined ? 0 : heldSeconds(ctx.firstSeen['queue-backlog'], ctx.now);
    const candidates: Array<{ held: number; source: WindowSource; history: number }> = [
      { held: session, source: 'this run', history: session },
      { held: broker.held, source: 'broker', history: broker.history },
      ...(win ? [{ held: win.heldSeconds, source: win.source, history: win.historySeconds }] : []),
    ];
    const best = candidates.reduce((a, b) => (b.held > a.held ? b : a));
    const held = best.held;
    const since = ctx.now - held * 1000;
    const firing = held >= BACKLOG_FOR_S * WINDOW_COVERAGE;
    out.push({
      id: 'queue-backlog',
      component: 'rabbitmq',
      severity: firing ? 'warning' : 'info',
      title: `${q.name}: ${count(q.messages)} messages queued for ${secs(held)}${firing ? '' : ' (alert after 5 m)'}`,
      evidence: {
        queue: q.name,
        messages: q.messages,
        ready: q.ready,
        unacked: q.unacked,
        consumers: q.consumers,
        heldSeconds: Math.round(held),
        threshold: BACKLOG_MESSAGES,
        windowSource: best.source,
        historySeconds: Math.round(best.history),
      },
      detail: `${count(q.ready)} ready + ${count(q.unacked)} unacked in ${q.name} with ${q.consumers} consumer${q.consumers === 1 ? '' : 's'} (${rates}); above ${BACKLOG_MESSAGES} since ${iso(since)} (${windowNote(best.source, best.history)}).`,
      bottleneck: 'not enough workers',
      fix: 'Scale workers: raise KEDA maxReplicaCount or WORKER_POOL_SIZE, lower the trigger value so scaling starts earlier.',
      command: 'sentinel-ctl tune keda',
      source: src.alerting,
      since: iso(since),
    });
  }
  // "No consumer" only when the queue itself confirms it (passive declare): the management
  // statistics lag a worker that just attached by up to 5 s.
  const consumers = q.consumersConfirmed ?? q.consumers;
  if (q.ready > 0 && consumers === 0) {
    out.push({
      id: 'queue-no-consumers',
      component: 'rabbitmq',
      severity: 'critical',
      title: `${q.name}: ${count(q.ready)} jobs waiting and no consumer`,
      evidence: {
        queue: q.name,
        ready: q.ready,
        consumers: 0,
        via,
        confirmedBy:
          q.consumersConfirmed !== undefined || via === 'amqp'
            ? 'passive queue declare'
            : via === 'prometheus'
              ? 'Prometheus endpoint'
              : 'management API',
      },
      detail: `${count(q.ready)} messages are ready in ${q.name} and no worker consumes it: jobs stay QUEUED.`,
      bottleneck: 'workers down or not connected',
      fix: 'Start the workers; check their AMQP connection string (RABBITMQ_URL), nsjail/bwrap availability and the KEDA ScaledObject.',
      command: 'sentinel-ctl status',
      source: src.stuckQueued,
    });
  }
  const growth = consumers > 0 && q.ready > 0 ? confirmedGrowth(q) : null;
  if (growth) {
    out.push({
      id: 'queue-growing',
      component: 'rabbitmq',
      severity: 'warning',
      title: `${q.name} growing by ${perSec(growth.perSec)} with ${consumers} consumers`,
      evidence: {
        queue: q.name,
        depthRate: Math.round(growth.perSec * 100) / 100,
        from: growth.from,
        to: growth.to,
        overSeconds: Math.round(growth.seconds),
        messages: q.messages,
        consumers,
        publishRate: q.publishRate,
        ackRate: q.ackRate,
      },
      detail: `Depth rose from ${count(growth.from)} to ${count(growth.to)} over the broker's last ${secs(growth.seconds)} of depth samples (${rates}): jobs arrive faster than the workers finish them.`,
      bottleneck: 'not enough workers',
      fix: 'Increase maxReplicaCount or WORKER_POOL_SIZE.',
      command: 'sentinel-ctl tune keda',
      source: src.symptoms,
    });
  }
  if (
    q.consumerUtilisation !== null &&
    consumers > 0 &&
    q.ready > 0 &&
    q.consumerUtilisation < LOW_UTILISATION
  ) {
    out.push({
      id: 'consumer-utilisation-low',
      component: 'rabbitmq',
      severity: 'info',
      title: `${q.name}: consumers ready only ${pct(q.consumerUtilisation)} of the time with messages waiting`,
      evidence: {
        queue: q.name,
        consumerUtilisation: q.consumerUtilisation,
        ready: q.ready,
        consumers: q.consumers,
      },
      detail: `Consumer utilisation ${pct(q.consumerUtilisation)} while ${count(q.ready)} messages wait: consumers are busy or their prefetch window is full.`,
      bottleneck: 'consumer throughput (busy workers or prefetch)',
      fix: 'Add workers; raise prefetch only when executions are uniform and fast (< 100 ms).',
      command: 'sentinel-ctl tune prefetch',
      source: src.rabbitPrefetch,
    });
  }
  return out;
}

export function rabbitRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.rabbitmq.ok) return [];
  const r = facts.rabbitmq.facts;
  const out: Finding[] = [];
  if (r.via === 'amqp') {
    out.push({
      id: 'rabbitmq-management-unreachable',
      component: 'rabbitmq',
      severity: 'warning',
      title: 'RabbitMQ management API unreachable: depth and consumers only (over AMQP)',
      evidence: { error: r.managementError ?? null },
      detail: `${r.managementError}. Rates, unacked messages, alarms and node memory are unknown; KEDA's HTTP trigger needs this API too.`,
      bottleneck: 'monitoring',
      fix: 'Enable rabbitmq_management and check RABBITMQ_MANAGEMENT_URL and its credentials.',
      source: src.tool,
    });
  }
  const task = r.queues.find((q) => q.name === ctx.taskQueue);
  if (task) out.push(...taskQueueRules(task, ctx, r.via));
  const dlq = r.queues.find((q) => q.name === ctx.deadLetterQueue);
  if (dlq && dlq.messages > 0) {
    // Why: the worker counts what it dead-letters by reason (sentinel_messages_dead_lettered_total);
    // messages over the delivery limit are dead-lettered by the broker itself and are the rest.
    const reasons = facts.worker.ok ? facts.worker.facts.deadLettered : {};
    const byWorker = Object.values(reasons).reduce((a, b) => a + b, 0);
    const listed = Object.entries(reasons)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${count(n)} ${r || 'unspecified'}`);
    const reasonText = listed.length
      ? `the worker rejected ${listed.join(', ')} since it started${dlq.messages > byWorker ? `; the other ${count(dlq.messages - byWorker)} went over the delivery limit (redelivered after crashes or timeouts) or were rejected before` : ''}`
      : 'rejected or over the delivery limit (a worker crashing mid-job, or a poison message)';
    out.push({
      id: 'dead-letters',
      component: 'rabbitmq',
      severity: 'warning',
      title: `${count(dlq.messages)} dead-lettered job${dlq.messages === 1 ? '' : 's'} in ${dlq.name}`,
      evidence: {
        queue: dlq.name,
        messages: dlq.messages,
        reasons: listed.length ? listed.join(', ') : null,
      },
      detail: `${count(dlq.messages)} messages reached ${dlq.name}: ${reasonText}.`,
      bottleneck: 'failing jobs',
      fix: 'Inspect them in the management UI, fix the cause, then move them back to the task queue.',
      source: src.queueTuning,
    });
  }
  for (const node of r.nodes) {
    if (node.memAlarm) {
      out.push({
        id: 'rabbitmq-memory-alarm',
        component: 'rabbitmq',
        severity: 'critical',
        title: `RabbitMQ memory alarm on ${node.name}: publishers blocked`,
        evidence: { node: node.name, memUsed: node.memUsed, memLimit: node.memLimit },
        detail: `${bytes(node.memUsed)} used of the ${bytes(node.memLimit)} watermark: the broker blocks every publisher, so submissions fail.`,
        bottleneck: 'too many queued messages',
        fix: 'Scale workers faster (lower the KEDA trigger value) so the queue drains; keep vm_memory_high_watermark at 0.6.',
        command: 'sentinel-ctl tune keda',
        source: src.symptoms,
      });
    } else if (node.memLimit > 0) {
      const c = classifyResource('memory', node.memUsed, node.memLimit);
      const severity = bandSeverity(c);
      if (severity) {
        out.push({
          id: 'rabbitmq-memory',
          component: 'rabbitmq',
          severity,
          title: `RabbitMQ memory ${pct(c.ratio)} of its watermark on ${node.name}`,
          evidence: {
            node: node.name,
            memUsed: node.memUsed,
            memLimit: node.memLimit,
            ratio: Number(c.ratio.toFixed(3)),
          },
          detail: `${bytes(node.memUsed)} of ${bytes(node.memLimit)}: ${c.reason}. At 100 % the memory alarm blocks publishers.`,
          bottleneck: 'queued messages in broker memory',
          fix: 'Drain the queue (more workers) before the alarm; quorum queues keep messages in memory until consumed.',
          command: 'sentinel-ctl tune keda',
          source: src.resourceTargets,
        });
      }
    }
    if (node.fdUsed !== null && node.fdTotal !== null && node.fdTotal > 0) {
      const ratio = node.fdUsed / node.fdTotal;
      if (ratio >= FD_WARNING) {
        out.push({
          id: 'rabbitmq-file-descriptors',
          component: 'rabbitmq',
          severity: ratio >= FD_CRITICAL ? 'critical' : 'warning',
          title: `RabbitMQ file descriptors ${pct(ratio)} used on ${node.name}`,
          evidence: {
            node: node.name,
            fdUsed: node.fdUsed,
            fdTotal: node.fdTotal,
            ratio: Number(ratio.toFixed(3)),
          },
          detail: `${count(node.fdUsed)} of ${count(node.fdTotal)} file descriptors in use: at the limit the broker refuses new connections (every client connection and queue file takes one).`,
          bottleneck: 'broker file descriptors',
          fix: 'Raise the broker’s open-files limit (ulimit -n / LimitNOFILE ≥ 65536) or reduce client connections (pool AMQP channels).',
          source: src.tool,
        });
      }
    }
    if (node.diskAlarm) {
      out.push({
        id: 'rabbitmq-disk-alarm',
        component: 'rabbitmq',
        severity: 'critical',
        title: `RabbitMQ disk alarm on ${node.name}: publishers blocked`,
        evidence: { node: node.name, diskFree: node.diskFree, diskFreeLimit: node.diskFreeLimit },
        detail: `${bytes(node.diskFree)} free, under disk_free_limit ${bytes(node.diskFreeLimit)}.`,
        bottleneck: 'broker disk',
        fix: 'Free or grow the disk; the guide sets disk_free_limit.absolute = 1GB.',
        command: 'sentinel-ctl tune rabbitmq',
        source: src.rabbitMemoryDisk,
      });
    }
  }
  return out;
}
