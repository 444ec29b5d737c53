/**
 * Facts read from a manifest tree: replicas, resources, env (WORKER_POOL_SIZE, prefetch, timeouts),
 * the pool parameters inside DATABASE_URL, PostgreSQL max_connections, the ScaledObject, Redis and
 * RabbitMQ settings, and the same variables in `.env` files. Every fact says which file and object
 * it came from.
 */
import {
  type ContainerInfo,
  type EnvVar,
  effectiveEnv,
  findArgSetting,
  findMaxConnections,
  type ManifestTree,
  readConfigMaps,
  readConfSetting,
  readParams,
  readSecrets,
  SCALED_OBJECT_COUNTS,
  type ScaledObjectInfo,
  triggerHostRef,
} from '../manifests/index.js';
import {
  fact,
  formatGoDuration,
  formatMemory,
  parseByteSize,
  parseCpuMillicores,
  parseGoDuration,
  parseMemoryBytes,
} from '../tuners/index.js';
import type { FactBook } from './book.js';
import { objectText, POOL_SIZE_KEYS, PREFETCH_KEYS, type Roles, type RoleWorkload } from './roles.js';
import { findArgSettings, findConfSettings, type SettingHit } from './settings.js';
import { cpuText, rulesText } from './show.js';

const int = (v: string | undefined): number | undefined =>
  v !== undefined && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;

/** `env WORKER_POOL_SIZE (ConfigMap sentinel-config)`: where a container's variable is written. */
function envDetail(role: RoleWorkload, e: EnvVar): string {
  const via = e.ref ? ` (${e.ref.kind} ${e.ref.name})` : '';
  return `${role.label} env ${e.name}${via}`;
}

function firstEnv(c: ContainerInfo, names: string[]): EnvVar | undefined {
  for (const n of names) {
    const e = effectiveEnv(c, n);
    if (e?.resolved && e.value !== undefined) return e;
  }
  return undefined;
}

/** The value of a pool parameter in a connection string; null when the URL sets none. */
function poolParam(url: string, name: 'pool_max_conns' | 'pool_min_conns'): number | null | undefined {
  try {
    const v = readParams(url, [name])[name];
    return v === undefined ? null : (int(v) ?? undefined);
  } catch {
    return undefined;
  }
}

function resources(book: FactBook, prefix: string, role: RoleWorkload): void {
  const r = role.container.resources;
  const at = (s: string) => `${role.label} container ${role.container.name} resources.${s}`;
  for (const section of ['requests', 'limits'] as const) {
    const cpu = r[section].cpu;
    const mem = r[section].memory;
    if (cpu)
      book.put(
        `${prefix}.${section}.cpuMillicores`,
        fact(parseCpuMillicores(cpu.raw), 'manifest', at(`${section}.cpu`)),
        cpuText,
      );
    if (mem)
      book.put(
        `${prefix}.${section}.memoryBytes`,
        fact(parseMemoryBytes(mem.raw), 'manifest', at(`${section}.memory`)),
        formatMemory,
      );
  }
}

function workerFacts(book: FactBook, w: RoleWorkload): void {
  if (w.workload.replicas !== undefined) {
    book.put('worker.replicas', fact(w.workload.replicas, 'manifest', `${w.label} spec.replicas`));
  }
  const pool = firstEnv(w.container, POOL_SIZE_KEYS);
  const poolValue = int(pool?.value);
  if (pool && poolValue !== undefined)
    book.put('worker.poolSize', fact(poolValue, 'manifest', envDetail(w, pool)));
  const prefetch = firstEnv(w.container, PREFETCH_KEYS);
  const prefetchValue = int(prefetch?.value);
  if (prefetch && prefetchValue !== undefined) {
    book.put('worker.prefetch', fact(prefetchValue, 'manifest', envDetail(w, prefetch)));
  }
  resources(book, 'worker', w);
  const db = firstEnv(w.container, ['DATABASE_URL']);
  if (db?.value !== undefined) {
    const max = poolParam(db.value, 'pool_max_conns');
    if (max !== undefined)
      book.put('worker.dbPoolMaxConns', fact(max, 'manifest', envDetail(w, db)), showPool);
  }
}

function showPool(v: number | null): string {
  return v === null ? 'unset (pgx default max(4, NumCPU))' : String(v);
}

function apiFacts(book: FactBook, roles: Roles, a: RoleWorkload): void {
  // The connections the API can open at once come from its peak replicas: the autoscaler's
  // maxReplicas when one scales it (as KEDA's maxReplicaCount counts for the workers).
  const hpaMax = roles.apiHpa?.maxReplicas;
  const replicas = a.workload.replicas;
  if (hpaMax !== undefined && (replicas === undefined || hpaMax > replicas)) {
    book.put(
      'api.replicas',
      fact(
        hpaMax,
        'manifest',
        `${roles.apiHpa!.label} spec.maxReplicas (peak; ${a.label} spec.replicas is ${replicas ?? 'unset'})`,
      ),
    );
  } else if (replicas !== undefined) {
    book.put('api.replicas', fact(replicas, 'manifest', `${a.label} spec.replicas`));
  }
  if (hpaMax !== undefined) {
    book.put('api.hpaMaxReplicas', fact(hpaMax, 'manifest', `${roles.apiHpa!.label} spec.maxReplicas`));
  }
  const db = firstEnv(a.container, ['DATABASE_URL']);
  if (db?.value !== undefined) {
    const max = poolParam(db.value, 'pool_max_conns');
    const min = poolParam(db.value, 'pool_min_conns');
    if (max !== undefined) book.put('api.poolMaxConns', fact(max, 'manifest', envDetail(a, db)), showPool);
    if (typeof min === 'number') book.put('api.poolMinConns', fact(min, 'manifest', envDetail(a, db)));
  }
  const wt = firstEnv(a.container, ['API_WRITE_TIMEOUT', 'WRITE_TIMEOUT']);
  if (wt?.value !== undefined) {
    try {
      book.put(
        'api.writeTimeoutMs',
        fact(parseGoDuration(wt.value), 'manifest', envDetail(a, wt)),
        formatGoDuration,
      );
    } catch {
      book.notes.push(`${envDetail(a, wt)}: "${wt.value}" is not a duration`);
    }
  }
  const rl = firstEnv(a.container, ['API_RATE_LIMIT', 'RATE_LIMIT']);
  const rlValue = int(rl?.value);
  if (rl && rlValue !== undefined)
    book.put('api.rateLimitPerMinute', fact(rlValue, 'manifest', envDetail(a, rl)));
}

/**
 * PostgreSQL reads the command line after postgresql.conf, so `-c max_connections=N` wins over the
 * conf file; operator parameters are the operator's command line. Disagreeing sites are noted.
 */
function postgresFacts(book: FactBook, tree: ManifestTree, roles: Roles): void {
  const sites = findMaxConnections(tree);
  const rank = (w: string) => (w === 'args' || w === 'command' ? 0 : w === 'operator-parameters' ? 1 : 2);
  const sorted = [...sites].sort((a, b) => rank(a.where) - rank(b.where));
  for (const s of sorted) {
    book.put(
      'postgres.maxConnections',
      fact(
        s.value,
        'manifest',
        `${objectText(s.object)} ${s.where === 'postgresql.conf' ? `${s.key}` : `${s.container} ${s.where}`} (line ${s.line})`,
      ),
    );
  }
  if (new Set(sites.map((s) => s.value)).size > 1) {
    book.notes.push(
      `max_connections is set to different values: ${sorted.map((s) => `${s.value} at ${s.file}:${s.line}`).join(', ')}; the command line wins`,
    );
  }
  // superuser_reserved_connections: command line first, then any postgresql.conf text.
  const pg = roles.postgres;
  if (pg) {
    for (const field of ['command', 'args'] as const) {
      for (const hit of findArgSetting(pg.container[field], 'superuser_reserved_connections')) {
        const v = int(hit.value);
        if (v !== undefined)
          book.put('postgres.superuserReservedConnections', fact(v, 'manifest', `${pg.label} ${field}`));
      }
    }
    const cpu = pg.container.resources.limits.cpu ?? pg.container.resources.requests.cpu;
    if (cpu) {
      const which = pg.container.resources.limits.cpu ? 'limits' : 'requests';
      book.put(
        'postgres.cores',
        fact(parseCpuMillicores(cpu.raw) / 1000, 'manifest', `${pg.label} resources.${which}.cpu`),
      );
    }
  }
  for (const cm of readConfigMaps(tree)) {
    for (const [key, text] of Object.entries(cm.values)) {
      if (!key.endsWith('.conf')) continue;
      for (const hit of readConfSetting(text, 'superuser_reserved_connections')) {
        const v = int(hit.value);
        if (v !== undefined)
          book.put(
            'postgres.superuserReservedConnections',
            fact(v, 'manifest', `${objectText(cm.object)} ${key}:${hit.line}`),
          );
      }
    }
  }
}

/** The host of a rabbitmq trigger: inline metadata, or through its TriggerAuthentication's Secret. */
function triggerHost(
  tree: ManifestTree,
  so: ScaledObjectInfo,
  t: ScaledObjectInfo['triggers'][number],
): { value: string; detail: string } | undefined {
  const ref = triggerHostRef(tree, so, t, readSecrets(tree));
  return ref?.value !== undefined ? { value: ref.value, detail: ref.detail } : undefined;
}

function kedaFacts(book: FactBook, tree: ManifestTree, so: ScaledObjectInfo): void {
  const at = (f: string) => `${objectText(so.object)} spec.${f}`;
  for (const k of SCALED_OBJECT_COUNTS) {
    const v = so[k];
    if (v !== undefined) book.put(`keda.${k}`, fact(v, 'manifest', at(k)));
  }
  if (so.behavior?.scaleUp)
    book.put(
      'keda.scaleUp',
      fact(so.behavior.scaleUp, 'manifest', at('advanced.horizontalPodAutoscalerConfig.behavior.scaleUp')),
      rulesText,
    );
  if (so.behavior?.scaleDown)
    book.put(
      'keda.scaleDown',
      fact(
        so.behavior.scaleDown,
        'manifest',
        at('advanced.horizontalPodAutoscalerConfig.behavior.scaleDown'),
      ),
      rulesText,
    );
  const t = so.triggers.find((x) => x.type === 'rabbitmq');
  if (!t) return;
  const tAt = (f: string) => `${objectText(so.object)} trigger ${t.name ?? 'rabbitmq'} metadata.${f}`;
  const value = int(t.metadata.value ?? t.metadata.queueLength);
  if (value !== undefined)
    book.put('keda.triggerValue', fact(value, 'manifest', tAt(t.metadata.value ? 'value' : 'queueLength')));
  const p = t.metadata.protocol;
  if (p === 'amqp' || p === 'http' || p === 'auto')
    book.put('keda.protocol', fact(p, 'manifest', tAt('protocol')));
  const mode = t.metadata.mode;
  if (mode === 'QueueLength' || mode === 'MessageRate')
    book.put('keda.mode', fact(mode, 'manifest', tAt('mode')));
  const host = triggerHost(tree, so, t);
  if (host) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host.value)?.[1];
    if (scheme) book.put('keda.hostScheme', fact(scheme.toLowerCase(), 'manifest', host.detail));
  }
}

export const REDIS_SETTINGS = ['maxmemory', 'maxmemory-policy'];
export const RABBIT_SETTINGS = [
  'vm_memory_high_watermark.relative',
  'disk_free_limit.absolute',
  'consumer_timeout',
  'channel_max',
];

/** Redis settings: the Redis container's command line, then redis.conf keys. */
export function redisSettingHits(tree: ManifestTree, roles: Roles): SettingHit[] {
  const args = roles.redis ? findArgSettings(roles.redis, REDIS_SETTINGS) : [];
  const conf = findConfSettings(
    tree,
    REDIS_SETTINGS,
    (cm, key, text) => /redis|valkey/i.test(`${cm.object.name} ${key}`) || /^\s*maxmemory\s/m.test(text),
  );
  return [...args, ...conf];
}

export function rabbitSettingHits(tree: ManifestTree): SettingHit[] {
  return findConfSettings(
    tree,
    RABBIT_SETTINGS,
    (cm, key, text) => /rabbit/i.test(`${cm.object.name} ${key}`) || /vm_memory_high_watermark/.test(text),
  );
}

function redisFacts(book: FactBook, tree: ManifestTree, roles: Roles): void {
  for (const h of redisSettingHits(tree, roles)) {
    if (h.name === 'maxmemory') {
      try {
        book.put(
          'redis.maxmemoryBytes',
          fact(parseByteSize(h.value, 'redis'), 'manifest', h.detail),
          (b) => `${b} bytes (${h.value})`,
        );
      } catch {
        book.notes.push(`${h.detail}: maxmemory "${h.value}" is not a Redis size`);
      }
    } else book.put('redis.maxmemoryPolicy', fact(h.value, 'manifest', h.detail));
  }
}

function rabbitFacts(book: FactBook, tree: ManifestTree): void {
  for (const h of rabbitSettingHits(tree)) {
    if (h.name === 'vm_memory_high_watermark.relative') {
      const v = Number(h.value);
      if (Number.isFinite(v)) book.put('rabbitmq.vmMemoryHighWatermark', fact(v, 'manifest', h.detail));
    } else if (h.name === 'disk_free_limit.absolute') {
      try {
        book.put(
          'rabbitmq.diskFreeLimitBytes',
          fact(parseByteSize(h.value, 'rabbitmq'), 'manifest', h.detail),
          (b) => `${b} bytes (${h.value})`,
        );
      } catch {
        book.notes.push(`${h.detail}: disk_free_limit.absolute "${h.value}" is not a size`);
      }
    } else {
      const v = int(h.value);
      if (v === undefined) continue;
      if (h.name === 'consumer_timeout')
        book.put('rabbitmq.consumerTimeoutMs', fact(v, 'manifest', h.detail), formatGoDuration);
      else book.put('rabbitmq.channelMax', fact(v, 'manifest', h.detail));
    }
  }
}

/**
 * `.env` files: the compose deployment's WORKER_POOL_SIZE, prefetch and DATABASE_URL pool. They
 * describe the cluster only when the tree has no worker / API Deployment: otherwise they are a
 * different deployment (local development) and are written, not read.
 */
function envFileFacts(book: FactBook, tree: ManifestTree, roles: Roles): void {
  for (const f of tree.files) {
    if (f.type !== 'env') continue;
    const get = (names: string[]) => {
      for (const n of names) {
        const e = f.entries.find((x) => x.key === n && x.value !== undefined);
        if (e) return e;
      }
      return undefined;
    };
    if (roles.worker && roles.api) continue;
    const pool = roles.worker ? undefined : get(POOL_SIZE_KEYS);
    const poolValue = int(pool?.value);
    if (pool && poolValue !== undefined)
      book.put('worker.poolSize', fact(poolValue, 'manifest', `${f.display} ${pool.key}`));
    const prefetch = roles.worker ? undefined : get(PREFETCH_KEYS);
    const prefetchValue = int(prefetch?.value);
    if (prefetch && prefetchValue !== undefined)
      book.put('worker.prefetch', fact(prefetchValue, 'manifest', `${f.display} ${prefetch.key}`));
    const db = roles.api ? undefined : get(['DATABASE_URL']);
    if (db?.value !== undefined) {
      const max = poolParam(db.value, 'pool_max_conns');
      const min = poolParam(db.value, 'pool_min_conns');
      if (max !== undefined)
        book.put('api.poolMaxConns', fact(max, 'manifest', `${f.display} DATABASE_URL`), showPool);
      if (typeof min === 'number')
        book.put('api.poolMinConns', fact(min, 'manifest', `${f.display} DATABASE_URL`));
    }
  }
}

/** Reads every fact the tree holds into the book (workload manifests before `.env` files). */
export function readManifestFacts(book: FactBook, tree: ManifestTree, roles: Roles): void {
  if (roles.worker) workerFacts(book, roles.worker);
  if (roles.api) apiFacts(book, roles, roles.api);
  postgresFacts(book, tree, roles);
  if (roles.scaledObject) kedaFacts(book, tree, roles.scaledObject);
  redisFacts(book, tree, roles);
  rabbitFacts(book, tree);
  envFileFacts(book, tree, roles);
  for (const n of roles.notes) book.notes.push(n);
}
