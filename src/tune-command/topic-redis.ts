/**
 * `tune redis`: maxmemory from the keys Redis holds × bytes per key (measured with `--live`:
 * DBSIZE and sampled MEMORY USAGE), the eviction policy, and how many keys that maxmemory holds.
 */

import { redisSettingHits } from '../facts/from-manifests.js';
import type { Gathered } from '../facts/gather.js';
import { type SettingChange, settingEdits } from '../facts/settings.js';
import { type ManifestEdit, readConfigMaps } from '../manifests/index.js';
import {
  formatByteSize,
  GUIDE_MAXMEMORY,
  recommend,
  redisKeyCapacity,
  redisMaxmemory,
  redisMaxmemoryPolicy,
  sources,
} from '../tuners/index.js';
import { row, type TunePlan, type TuneRow } from './types.js';

const redisSize = (b: number) => formatByteSize(b, 'redis');

export function planRedis(g: Gathered): TunePlan {
  const b = g.book;
  const warnings: string[] = [];
  const keys = b.get<number>('redis.keys');
  const bpk = b.get<number>('redis.bytesPerKey');
  const max = keys
    ? redisMaxmemory({ keys: keys.value, ...(bpk ? { measuredBytesPerKey: bpk.value } : {}) })
    : recommend(
        GUIDE_MAXMEMORY,
        'no key count known (pass --live or --keys): the guide default 128mb',
        sources.redis,
        {
          basis: 'guide-default',
        },
      );
  if (!keys)
    warnings.push(
      'No key count known: pass --live (DBSIZE and sampled MEMORY USAGE) or --keys and --bytes-per-key.',
    );
  const policyFact = b.get<string>('redis.maxmemoryPolicy');
  const policy = redisMaxmemoryPolicy(policyFact?.value);
  const rows: TuneRow[] = [
    row('maxmemory', 'redis', max, b.get('redis.maxmemoryBytes'), {
      show: redisSize,
      showCurrent: (v) => redisSize(v as number),
    }),
    row('maxmemory-policy', 'redis', policy, policyFact),
    row('key capacity', 'redis', redisKeyCapacity(max.value, bpk?.value), undefined, { info: true }),
  ];
  const edits: ManifestEdit[] = [];
  if (!g.tree) return { rows, edits, warnings };
  const hits = redisSettingHits(g.tree, g.roles ?? { notes: [] });
  const changes: SettingChange[] = [];
  const conf = readConfigMaps(g.tree).flatMap((cm) =>
    Object.entries(cm.values)
      .filter(([k]) => k.endsWith('.conf') && /redis|valkey/i.test(`${cm.object.name} ${k}`))
      .map(([key, text]) => ({ object: cm.object, key, text })),
  );
  for (const [name, value, reason] of [
    ['maxmemory', redisSize(max.value), max.reason],
    ['maxmemory-policy', policy.value, policy.reason],
  ] as const) {
    const found = hits.filter((h) => h.name === name);
    if (found.length > 0) for (const hit of found) changes.push({ name, value, reason, hit });
    else if (conf.length === 1)
      changes.push({ name, value, reason, appendTo: conf[0]!, line: `${name} ${value}` });
    else
      warnings.push(
        `${name} is not set in the manifests: add \`${name} ${value}\` to redis.conf or \`--${name} ${value}\` to redis-server's args.`,
      );
  }
  // A value equal to the current one produces no change in the plan (the edit is a no-op).
  edits.push(...settingEdits(changes));
  return { rows, edits, warnings };
}
