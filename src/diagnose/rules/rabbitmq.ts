/**
 * RabbitMQ rules: the deployment guide's SentinelQueueBacklog alert (> 1000 messages for 5 min),
 * "Jobs Stuck in QUEUED" (messages and no consumer), the symptom rows "queue depth growing → not
 * enough workers" and "RabbitMQ memory alarm → too many queued messages", the disk alarm, node memory
 * against its watermark (SARK memory bands), dead letters and consumer utilisation.
 */
import { classifyResource } from '../../tuners/resource-targets.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding, QueueFacts, RuleContext } from '../types.js';
import { bandSeverity, heldSeconds, iso } from './common.js';
import { bytes, count, pct, perSec, secs } from './format.js';

/** Deployment guide "Alerting": SentinelQueueBacklog, queue > 1000 msgs for 5m, warning. */
export const BACKLOG_MESSAGES = 1000;
export const BACKLOG_FOR_S = 300;
/** Tool heuristic: below half, consumers often sit waiting for their next message (prefetch too low for fast jobs). */
export const LOW_UTILISATION = 0.5;

/**
 * When the backlog began: the earliest of the first refresh that saw it and the start of the
 * broker's own unbroken run of samples above the threshold (it keeps 5 min of them).
 */
export function backlogSince(q: QueueFacts, firstSeen: number | undefined, now: number): number {
  let since = firstSeen ?? now;
  const samples = q.depthSamples;
  let i = samples.length - 1;
  while (i >= 0 && samples[i]!.messages > BACKLOG_MESSAGES) i--;
  if (i < samples.length - 1) since = Math.min(since, samples[i + 1]!.at);
  return since;
}

function taskQueueRules(q: QueueFacts, ctx: RuleContext, via: string): Finding[] {
  const out: Finding[] = [];
  const rates = `publish ${q.publishRate === null ? '?' : perSec(q.publishRate)}, deliver ${q.deliverRate === null ? '?' : perSec(q.deliverRate)}, ack ${q.ackRate === null ? '?' : perSec(q.ackRate)}`;
  if (q.messages > BACKLOG_MESSAGES) {
    const since = backlogSince(q, ctx.firstSeen['queue-backlog'], ctx.now);
    const held = heldSeconds(since, ctx.now);
    const firing = held >= BACKLOG_FOR_S;
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
      },
      detail: `${count(q.ready)} ready + ${count(q.unacked)} unacked in ${q.name} with ${q.consumers} consumer${q.consumers === 1 ? '' : 's'} (${rates}); above ${BACKLOG_MESSAGES} since ${iso(since)}.`,
      bottleneck: 'not enough workers',
      fix: 'Scale workers: raise KEDA maxReplicaCount or WORKER_POOL_SIZE, lower the trigger value so scaling starts earlier.',
      command: 'sentinel-ctl tune keda',
      source: src.alerting,
      since: iso(since),
    });
  }
  if (q.ready > 0 && q.consumers === 0) {
    out.push({
      id: 'queue-no-consumers',
      component: 'rabbitmq',
      severity: 'critical',
      title: `${q.name}: ${count(q.ready)} jobs waiting and no consumer`,
      evidence: { queue: q.name, ready: q.ready, consumers: 0, via },
      detail: `${count(q.ready)} messages are ready in ${q.name} and no worker consumes it: jobs stay QUEUED.`,
      bottleneck: 'workers down or not connected',
      fix: 'Start the workers; check their AMQP connection string (RABBITMQ_URL), nsjail/bwrap availability and the KEDA ScaledObject.',
      command: 'sentinel-ctl status',
      source: src.stuckQueued,
    });
  }
  if (q.depthRate !== null && q.depthRate > 0 && q.ready > 0 && q.consumers > 0) {
    out.push({
      id: 'queue-growing',
      component: 'rabbitmq',
      severity: 'warning',
      title: `${q.name} growing by ${perSec(q.depthRate)} with ${q.consumers} consumers`,
      evidence: {
        queue: q.name,
        depthRate: q.depthRate,
        messages: q.messages,
        consumers: q.consumers,
        publishRate: q.publishRate,
        ackRate: q.ackRate,
      },
      detail: `Depth ${count(q.messages)} rising ${perSec(q.depthRate)} (${rates}): jobs arrive faster than the workers finish them.`,
      bottleneck: 'not enough workers',
      fix: 'Increase maxReplicaCount or WORKER_POOL_SIZE.',
      command: 'sentinel-ctl tune keda',
      source: src.symptoms,
    });
  }
  if (
    q.consumerUtilisation !== null &&
    q.consumers > 0 &&
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
      source: src.design,
    });
  }
  const task = r.queues.find((q) => q.name === ctx.taskQueue);
  if (task) out.push(...taskQueueRules(task, ctx, r.via));
  const dlq = r.queues.find((q) => q.name === ctx.deadLetterQueue);
  if (dlq && dlq.messages > 0) {
    out.push({
      id: 'dead-letters',
      component: 'rabbitmq',
      severity: 'warning',
      title: `${count(dlq.messages)} dead-lettered job${dlq.messages === 1 ? '' : 's'} in ${dlq.name}`,
      evidence: { queue: dlq.name, messages: dlq.messages },
      detail: `${count(dlq.messages)} messages reached ${dlq.name}: rejected or over the delivery limit (a worker crashing mid-job, or a poison message).`,
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
