/**
 * `tune prefetch`: the worker's RabbitMQ prefetch from the execution-time distribution (the
 * worker's duration histogram with `--live`, or `--p50` / `--p99`), kept under consumer_timeout.
 */

import type { Gathered } from '../facts/gather.js';
import { PREFETCH_KEYS } from '../facts/roles.js';
import { effectiveEnv, type ManifestEdit } from '../manifests/index.js';
import {
  DEFAULT_CONSUMER_TIMEOUT_MS,
  type ExecutionStats,
  formatGoDuration,
  num,
  prefetchFitsConsumerTimeout,
  rabbitPrefetch,
  recommend,
  sources,
} from '../tuners/index.js';
import { row, type TunePlan, type TuneRow } from './types.js';

export function planPrefetch(g: Gathered): TunePlan {
  const b = g.book;
  const exec = b.get<ExecutionStats>('execution');
  const timeout = b.get<number>('rabbitmq.consumerTimeoutMs');
  const rec = rabbitPrefetch({
    ...(exec ? { times: exec.value } : {}),
    ...(timeout ? { consumerTimeoutMs: timeout.value } : {}),
  });
  const worker = g.roles?.worker;
  const name = (worker && PREFETCH_KEYS.find((k) => effectiveEnv(worker.container, k))) ?? 'WORKER_PREFETCH';
  const rows: TuneRow[] = [row(name, 'worker', rec, b.get('worker.prefetch'))];
  const warnings: string[] = [];
  if (!exec) {
    warnings.push(
      "No execution times known: pass --live (the worker's duration histogram) or --p50 and --p99 (durations, e.g. --p50 40ms --p99 80ms).",
    );
  } else {
    const t = timeout?.value ?? DEFAULT_CONSUMER_TIMEOUT_MS;
    const held = rec.value * exec.value.p99Ms;
    rows.push(
      row(
        'consumer_timeout',
        'rabbitmq',
        recommend(
          t,
          `prefetch ${rec.value} × p99 ${num(exec.value.p99Ms)} ms = ${num(held)} ms ${prefetchFitsConsumerTimeout(rec.value, exec.value.p99Ms, t) ? '<' : '≥'} consumer_timeout ${formatGoDuration(t)}`,
          sources.rabbitPrefetch,
          { basis: timeout ? 'measured' : 'guide-default' },
        ),
        timeout,
        { info: true, show: formatGoDuration },
      ),
    );
  }
  const edits: ManifestEdit[] = [];
  if (!g.tree) return { rows, edits, warnings };
  if (worker) {
    const o = worker.workload.object;
    edits.push({
      op: 'set-env',
      workload: { kind: o.kind, name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) },
      container: worker.container.name,
      name,
      value: String(rec.value),
      reason: rec.reason,
    });
  } else warnings.push('No worker Deployment found in the manifests: the prefetch is not written.');
  for (const f of g.tree.files) {
    if (f.type !== 'env') continue;
    const key = PREFETCH_KEYS.find((k) => f.entries.some((e) => e.key === k));
    if (key || g.envFiles.includes(f.display)) {
      edits.push({
        op: 'set-env-file-var',
        file: f.display,
        name: key ?? 'WORKER_PREFETCH',
        value: String(rec.value),
        reason: rec.reason,
      });
    }
  }
  return { rows, edits, warnings };
}
