/**
 * RabbitMQ: the management HTTP API (queues with ready/unacked depth, consumers, publish/deliver/ack
 * rates and consumer utilisation; node memory and disk against their alarms), falling back to AMQP
 * (depth and consumers of the known queues only) when the API does not answer.
 *
 * Rates are the broker's own `*_details.rate`: it computes them from two of its statistics samples
 * (every 5 s by default), which is finer than anything two polls of a 5 s-granular counter could
 * give. The task queue is read with `lengths_age=330` so its depth over a little more than 5 minutes comes
 * back as samples, and a backlog's duration is known even from a single run.
 */
import amqp from 'amqplib';
import { parseMetrics, select, sumOf } from '../../clients/prometheus.js';
import { managementRequest, vhostOf } from '../../clients/rabbitmq-management.js';
import { describeError } from '../../lib/errors.js';
import { maskUrl } from '../../lib/redact.js';
import type { QueueFacts, RabbitFacts } from '../types.js';
import { withTimeout } from './timeout.js';
import type { Collector } from './types.js';

type Json = Record<string, unknown>;

export interface RabbitSample {
  at: number;
  facts: RabbitFacts;
  /** Broker-wide message counters, read from the Prometheus endpoint (rates come from two samples). */
  counters?: { published: number; delivered: number; acked: number };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const rate = (stats: unknown, key: string): number | null => {
  const d = (stats as Json | undefined)?.[`${key}_details`] as Json | undefined;
  return typeof d?.rate === 'number' ? Math.round(d.rate * 100) / 100 : null;
};

/** A queue with nothing counted and no rates: what the sources that know less than the management API fill in. */
function emptyQueue(name: string): QueueFacts {
  return {
    name,
    type: null,
    messages: 0,
    ready: 0,
    unacked: 0,
    consumers: 0,
    consumerUtilisation: null,
    publishRate: null,
    deliverRate: null,
    ackRate: null,
    depthRate: null,
    depthSamples: [],
  };
}

/** One queue object of the management API → facts. */
export function queueFacts(q: Json): QueueFacts {
  const stats = q.message_stats as Json | undefined;
  const details = q.messages_details as Json | undefined;
  const samples = Array.isArray(details?.samples) ? (details.samples as Json[]) : [];
  const util = q.consumer_utilisation ?? q.consumer_capacity;
  return {
    name: String(q.name),
    type: typeof q.type === 'string' ? q.type : null,
    messages: num(q.messages),
    ready: num(q.messages_ready),
    unacked: num(q.messages_unacknowledged),
    consumers: num(q.consumers),
    consumerUtilisation: typeof util === 'number' ? util : null,
    publishRate: rate(stats, 'publish'),
    deliverRate: rate(stats, 'deliver_get'),
    ackRate: rate(stats, 'ack'),
    depthRate: typeof details?.rate === 'number' ? Math.round(details.rate * 100) / 100 : null,
    depthSamples: samples
      .map((s) => ({ at: num(s.timestamp), messages: num(s.sample) }))
      .sort((a, b) => a.at - b.at),
  };
}

export interface RabbitCollectorOptions {
  amqpUrl: string;
  managementUrl: string;
  /** Queues to read over AMQP when the API is down (the task queue and its dead-letter queue). */
  knownQueues: string[];
  /** The queue whose depth history is fetched. */
  taskQueue: string;
  /**
   * The rabbitmq_prometheus endpoint (no credentials needed), read when `managementUrl` is empty:
   * through the API server's service proxy the Authorization header carries the cluster's
   * credentials, so the management API's basic auth cannot get through (docs/k8s.md "Data plane").
   */
  prometheusUrl?: string;
  /** The transport: plain fetch, or the API server's service proxy (src/k8s/client.ts). */
  fetch?: typeof globalThis.fetch;
}

export class RabbitCollector implements Collector<RabbitSample, RabbitFacts> {
  readonly component = 'rabbitmq' as const;
  readonly target: string;
  private readonly vhost: string;

  constructor(private readonly options: RabbitCollectorOptions) {
    this.target = options.managementUrl
      ? `${maskUrl(options.managementUrl)} (AMQP ${maskUrl(options.amqpUrl)})`
      : `${maskUrl(options.prometheusUrl ?? '')} (Prometheus endpoint)`;
    this.vhost = vhostOf(options.amqpUrl);
  }

  private async getJson(path: string, signal: AbortSignal): Promise<unknown> {
    const { base, headers } = managementRequest(this.options.managementUrl);
    const res = await fetch(`${base}${path}`, { headers, signal });
    if (!res.ok) throw new Error(`GET ${path} → HTTP ${res.status}`);
    return res.json();
  }

  /**
   * Depth, consumers, alarms and broker-wide counters from rabbitmq_prometheus: `/metrics/detailed`
   * (queue_coarse_metrics, queue_consumer_count) and the aggregated `/metrics`. Per-queue rates
   * and the depth history are not exported there: they stay null.
   */
  private async viaPrometheus(
    timeoutMs: number,
  ): Promise<{ facts: RabbitFacts; counters: RabbitSample['counters'] }> {
    const base = (this.options.prometheusUrl ?? '').replace(/\/+$/, '');
    const get = async (path: string) => {
      const res = await (this.options.fetch ?? fetch)(`${base}${path}`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`GET ${maskUrl(base)}${path} → HTTP ${res.status}`);
      return parseMetrics(await res.text());
    };
    const v = encodeURIComponent(this.vhost);
    const [detailed, m] = await Promise.all([
      get(`/metrics/detailed?vhost=${v}&family=queue_coarse_metrics&family=queue_consumer_count`),
      get('/metrics'),
    ]);
    const byQueue = new Map<string, QueueFacts>();
    const queue = (name: string): QueueFacts => {
      let q = byQueue.get(name);
      if (!q) {
        q = emptyQueue(name);
        byQueue.set(name, q);
      }
      return q;
    };
    const fields = [
      ['rabbitmq_detailed_queue_messages', 'messages'],
      ['rabbitmq_detailed_queue_messages_ready', 'ready'],
      ['rabbitmq_detailed_queue_messages_unacked', 'unacked'],
      ['rabbitmq_detailed_queue_consumers', 'consumers'],
    ] as const;
    for (const [metric, field] of fields) {
      for (const x of select(detailed, metric)) {
        if (x.labels.vhost !== undefined && x.labels.vhost !== this.vhost) continue;
        queue(x.labels.queue ?? '?')[field] = x.value;
      }
    }
    const one = (name: string) => sumOf(m, name) ?? 0;
    const node = select(m, 'rabbitmq_identity_info')[0]?.labels.rabbitmq_node ?? 'rabbit';
    return {
      counters: {
        published: one('rabbitmq_global_messages_received_total'),
        delivered: one('rabbitmq_global_messages_delivered_total'),
        acked: one('rabbitmq_global_messages_acknowledged_total'),
      },
      facts: {
        via: 'prometheus',
        version: select(m, 'rabbitmq_build_info')[0]?.labels.rabbitmq_version ?? null,
        queues: [...byQueue.values()],
        publishRate: null,
        deliverRate: null,
        ackRate: null,
        nodes: [
          {
            name: node,
            memUsed: one('rabbitmq_process_resident_memory_bytes'),
            memLimit: one('rabbitmq_resident_memory_limit_bytes'),
            memAlarm: one('rabbitmq_alarms_memory_used_watermark') > 0,
            diskFree: one('rabbitmq_disk_space_available_bytes'),
            diskFreeLimit: one('rabbitmq_disk_space_available_limit_bytes'),
            diskAlarm: one('rabbitmq_alarms_free_disk_space_watermark') > 0,
            fdUsed: sumOf(m, 'rabbitmq_process_open_fds') ?? null,
            fdTotal: sumOf(m, 'rabbitmq_process_max_fds') ?? null,
          },
        ],
      },
    };
  }

  private async viaManagement(timeoutMs: number): Promise<RabbitFacts> {
    const signal = AbortSignal.timeout(timeoutMs);
    const v = encodeURIComponent(this.vhost);
    const [overview, nodes, queues, task] = (await Promise.all([
      this.getJson('/api/overview', signal),
      this.getJson('/api/nodes', signal),
      this.getJson(`/api/queues/${v}`, signal),
      this.getJson(
        `/api/queues/${v}/${encodeURIComponent(this.options.taskQueue)}?lengths_age=330&lengths_incr=5`,
        signal,
      ).catch(() => undefined),
    ])) as [Json, Json[], Json[], Json | undefined];
    const stats = overview.message_stats as Json | undefined;
    const list = queues.map(queueFacts);
    if (task) {
      const detailed = queueFacts(task);
      const i = list.findIndex((q) => q.name === detailed.name);
      if (i >= 0) list[i] = detailed;
    }
    // The management statistics lag (5 s) a consumer that just attached: before "no consumer"
    // is believed, ask the queue itself with a passive declare (issue: false criticals right after
    // the worker starts).
    const suspicious = list.filter(
      (q) => this.options.knownQueues.includes(q.name) && q.consumers === 0 && q.ready > 0,
    );
    if (suspicious.length) {
      const counted = await this.passiveCounts(
        suspicious.map((q) => q.name),
        timeoutMs,
      ).catch(() => undefined);
      for (const q of suspicious) {
        const c = counted?.get(q.name);
        if (c !== undefined) q.consumersConfirmed = c.consumers;
      }
    }
    return {
      via: 'management',
      version: typeof overview.rabbitmq_version === 'string' ? overview.rabbitmq_version : null,
      queues: list,
      publishRate: rate(stats, 'publish'),
      deliverRate: rate(stats, 'deliver_get'),
      ackRate: rate(stats, 'ack'),
      nodes: nodes.map((nd) => ({
        name: String(nd.name),
        memUsed: num(nd.mem_used),
        memLimit: num(nd.mem_limit),
        memAlarm: nd.mem_alarm === true,
        diskFree: num(nd.disk_free),
        diskFreeLimit: num(nd.disk_free_limit),
        diskAlarm: nd.disk_free_alarm === true,
        fdUsed: typeof nd.fd_used === 'number' ? nd.fd_used : null,
        fdTotal: typeof nd.fd_total === 'number' ? nd.fd_total : null,
      })),
    };
  }

  /** Depth and consumers of the named queues from a passive declare each (one AMQP connection). */
  private async passiveCounts(
    names: string[],
    timeoutMs: number,
  ): Promise<Map<string, { messages: number; consumers: number }>> {
    const conn = await amqp.connect(this.options.amqpUrl, {
      timeout: timeoutMs,
      clientProperties: { connection_name: 'sentinel-ctl diagnose' },
    });
    conn.on('error', () => {});
    const out = new Map<string, { messages: number; consumers: number }>();
    try {
      for (const name of names) {
        // checkQueue on a missing queue closes its channel (404): one channel per queue.
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        try {
          const q = await ch.checkQueue(name);
          out.set(name, { messages: q.messageCount, consumers: q.consumerCount });
          await ch.close().catch(() => {});
        } catch {
          // Not declared on this broker: nothing to report for it.
        }
      }
    } finally {
      await conn.close().catch(() => {});
    }
    return out;
  }

  private async viaAmqp(timeoutMs: number, managementError: string): Promise<RabbitFacts> {
    const counted = await this.passiveCounts(this.options.knownQueues, timeoutMs);
    const queues: QueueFacts[] = [...counted].map(([name, q]) => ({
      ...emptyQueue(name),
      messages: q.messages,
      ready: q.messages,
      consumers: q.consumers,
    }));
    return {
      via: 'amqp',
      version: null,
      queues,
      publishRate: null,
      deliverRate: null,
      ackRate: null,
      nodes: [],
      managementError,
    };
  }

  async sample(timeoutMs: number): Promise<RabbitSample> {
    const started = Date.now();
    if (!this.options.managementUrl && this.options.prometheusUrl) {
      const r = await withTimeout(this.viaPrometheus(timeoutMs), timeoutMs);
      return { at: Date.now(), ...r };
    }
    let facts: RabbitFacts;
    try {
      facts = await withTimeout(this.viaManagement(timeoutMs), timeoutMs);
    } catch (error) {
      const why = `management API ${maskUrl(this.options.managementUrl)}: ${describeError(error)}`;
      // Whatever time is left goes to the AMQP fallback (at least a quarter of the budget).
      const left = Math.max(timeoutMs / 4, timeoutMs - (Date.now() - started));
      const work = this.viaAmqp(left, why).catch((e: unknown) => {
        throw new Error(`${why}; AMQP ${maskUrl(this.options.amqpUrl)}: ${describeError(e)}`);
      });
      facts = await withTimeout(work, left);
    }
    return { at: Date.now(), facts };
  }

  derive(prev: RabbitSample | undefined, cur: RabbitSample): { facts: RabbitFacts; notes: string[] } {
    const notes: string[] = [];
    for (const q of cur.facts.queues) {
      const before = prev?.facts.queues.find((p) => p.name === q.name);
      q.depthChange = before
        ? { from: before.messages, to: q.messages, seconds: Math.max(0, (cur.at - prev!.at) / 1000) }
        : null;
    }
    if (cur.facts.via === 'prometheus') {
      // Broker-wide rates from the counters of two samples (the endpoint has no per-queue rates).
      const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
      if (prev?.counters && cur.counters && seconds > 0) {
        const r = (a: number, b: number) => Math.round((Math.max(0, b - a) / seconds) * 100) / 100;
        cur.facts.publishRate = r(prev.counters.published, cur.counters.published);
        cur.facts.deliverRate = r(prev.counters.delivered, cur.counters.delivered);
        cur.facts.ackRate = r(prev.counters.acked, cur.counters.acked);
      }
      notes.push('read from the rabbitmq_prometheus endpoint: no per-queue rates or depth history');
    }
    if (cur.facts.via === 'amqp') {
      notes.push(
        `management API unreachable (${cur.facts.managementError}); AMQP gives ready depth and consumers only`,
      );
    }
    return { facts: cur.facts, notes };
  }

  async close(): Promise<void> {}
}
