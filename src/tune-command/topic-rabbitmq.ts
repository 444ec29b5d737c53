/**
 * `tune rabbitmq`: the memory watermark and disk limit of the tuning guide ("RabbitMQ > Memory &
 * Disk"), with consumer_timeout and channel_max shown against what the workers need.
 */

import { rabbitSettingHits } from '../facts/from-manifests.js';
import type { Gathered } from '../facts/gather.js';
import { type SettingChange, settingEdits } from '../facts/settings.js';
import { type ManifestEdit, readConfigMaps } from '../manifests/index.js';
import {
  DEFAULT_CONSUMER_TIMEOUT_MS,
  type ExecutionStats,
  formatByteSize,
  formatGoDuration,
  num,
  RABBITMQ_DEFAULT_CHANNEL_MAX,
  rabbitDiskFreeLimit,
  rabbitMemoryWatermark,
  recommend,
  sources,
} from '../tuners/index.js';
import { row, type TunePlan, type TuneRow } from './types.js';

export function planRabbitmq(g: Gathered): TunePlan {
  const b = g.book;
  const warnings: string[] = [];
  const wmFact = b.get<number>('rabbitmq.vmMemoryHighWatermark');
  const wm = rabbitMemoryWatermark(wmFact?.value);
  const disk = rabbitDiskFreeLimit();
  const rows: TuneRow[] = [
    row('vm_memory_high_watermark.relative', 'rabbitmq', wm, wmFact),
    row('disk_free_limit.absolute', 'rabbitmq', disk, b.get('rabbitmq.diskFreeLimitBytes'), {
      show: (v) => formatByteSize(v, 'rabbitmq'),
      showCurrent: (v) => formatByteSize(v as number, 'rabbitmq'),
    }),
  ];
  // consumer_timeout: RabbitMQ's 30 min default must exceed prefetch × p99 (checked, not tuned).
  const exec = b.value<ExecutionStats>('execution');
  const prefetch = b.value<number>('worker.prefetch') ?? 1;
  const timeout = b.get<number>('rabbitmq.consumerTimeoutMs');
  const t = timeout?.value ?? DEFAULT_CONSUMER_TIMEOUT_MS;
  rows.push(
    row(
      'consumer_timeout',
      'rabbitmq',
      recommend(
        t,
        exec
          ? `prefetch ${prefetch} × p99 ${num(exec.p99Ms)} ms = ${num(prefetch * exec.p99Ms)} ms must stay below it`
          : "RabbitMQ's default 30 min; it must exceed prefetch × p99 execution time",
        sources.rabbitPrefetch,
        { basis: timeout ? 'measured' : 'guide-default' },
      ),
      timeout,
      { info: true, show: formatGoDuration },
    ),
  );
  const channelMax = b.get<number>('rabbitmq.channelMax');
  rows.push(
    row(
      'channel_max',
      'rabbitmq',
      recommend(
        channelMax?.value ?? RABBITMQ_DEFAULT_CHANNEL_MAX,
        "one channel per worker goroutine on each pod's connection; the default 2047 is fine",
        sources.kedaMaxWorkers,
        { basis: 'guide-default' },
      ),
      channelMax,
      { info: true },
    ),
  );
  const edits: ManifestEdit[] = [];
  if (!g.tree) return { rows, edits, warnings };
  const hits = rabbitSettingHits(g.tree);
  const conf = readConfigMaps(g.tree).flatMap((cm) =>
    Object.entries(cm.values)
      .filter(([k]) => k.endsWith('.conf') && /rabbit/i.test(`${cm.object.name} ${k}`))
      .map(([key, text]) => ({ object: cm.object, key, text })),
  );
  const changes: SettingChange[] = [];
  for (const [name, value, reason] of [
    ['vm_memory_high_watermark.relative', String(wm.value), wm.reason],
    ['disk_free_limit.absolute', formatByteSize(disk.value, 'rabbitmq'), disk.reason],
  ] as const) {
    const found = hits.filter((h) => h.name === name);
    if (found.length > 0) for (const hit of found) changes.push({ name, value, reason, hit });
    else if (conf.length === 1)
      changes.push({ name, value, reason, appendTo: conf[0]!, line: `${name} = ${value}` });
    else warnings.push(`${name} is not set in the manifests: add \`${name} = ${value}\` to rabbitmq.conf.`);
  }
  edits.push(...settingEdits(changes));
  return { rows, edits, warnings };
}
