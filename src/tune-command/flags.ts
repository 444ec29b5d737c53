/**
 * The flags every `tune` command shares: where facts come from (flags, manifests, env files, the
 * live stack, the container) and what to do with the result (`--write`, `--dry-run`). Rules between
 * flags live here, in the definitions (docs/design.md "Commands").
 */
import { Flags } from '@oclif/core';
import type { FlagOverride } from '../config/load.js';
import type { FactFlags } from '../facts/gather.js';
import { clusterFlags } from '../k8s/flags.js';
import { durationFlag, formatDuration, legacyMsFlag, legacyMsWarning } from '../lib/duration.js';
import { UserError } from '../lib/errors.js';
import { parseMemoryBytes } from '../tuners/index.js';

/** Below this a worker pod cannot run one sandbox (the guide's 512Mi per sandbox limit). */
const MIN_POD_MEMORY = 64 * 1024 * 1024;

const memory = Flags.custom<number>({
  parse: async (s) => {
    if (/^\s*\d+(\.\d+)?\s*$/.test(s)) {
      throw new Error(`Expected a quantity with a unit such as 512Mi or 8Gi, got "${s}" (bytes?)`);
    }
    const bytes = parseMemoryBytes(s);
    if (bytes < MIN_POD_MEMORY) throw new Error(`Expected at least 64Mi, got "${s}"`);
    return bytes;
  },
  helpValue: '<quantity>',
});

/** PostgreSQL's own ceiling for max_connections (guc.c: MAX_BACKENDS, 2^18 − 1). */
export const PG_MAX_CONNECTIONS_LIMIT = 262_143;
/** The most cores any one pod or server has in practice; more is a typo. */
const MAX_CORES = 1024;

const cores = Flags.custom<number>({
  parse: async (s) => {
    const n = Number(s);
    if (!(s.trim() !== '' && Number.isFinite(n) && n > 0))
      throw new Error(`Expected a number of cores above 0, got "${s}"`);
    if (n > MAX_CORES) throw new Error(`Expected at most ${MAX_CORES} cores, got "${s}"`);
    if (n < 0.001) throw new Error(`Expected at least 1m (0.001) of a core, got "${s}"`);
    return n;
  },
  helpValue: '<cores>',
});

/** The worker pod's size: CPU and memory. */
export const podFlags = {
  cpus: cores({
    summary: 'CPU cores of one worker pod, e.g. 4 or 0.5 (overrides manifests, cgroup and host).',
    helpGroup: 'FACTS',
  }),
  memory: memory({
    summary: 'Memory of one worker pod, e.g. 8Gi (overrides manifests, cgroup and host).',
    helpGroup: 'FACTS',
  }),
};

/** How many API and worker pods there are (or may be, under KEDA). */
export const replicaFlags = {
  'api-replicas': Flags.integer({ summary: 'API replicas.', min: 1, max: 1000, helpGroup: 'FACTS' }),
  'worker-replicas': Flags.integer({
    summary: 'Worker replicas (without KEDA).',
    min: 1,
    max: 10_000,
    helpGroup: 'FACTS',
  }),
  'max-replicas': Flags.integer({
    summary: 'KEDA maxReplicaCount of the workers.',
    min: 1,
    max: 10_000,
    helpGroup: 'FACTS',
  }),
};

/** The PostgreSQL server: its connection limit and hardware. */
export const databaseFlags = {
  'max-connections': Flags.integer({
    summary: 'PostgreSQL max_connections as it is now.',
    min: 1,
    max: PG_MAX_CONNECTIONS_LIMIT,
    helpGroup: 'FACTS',
  }),
  disk: Flags.option({ options: ['ssd', 'hdd'] as const, helpGroup: 'FACTS' })({
    summary: "The database's disk: with --db-cpus, sizes the API pool from the hardware rule.",
    dependsOn: ['db-cpus'],
  }),
  'db-cpus': cores({ summary: 'CPU cores of the PostgreSQL server.', helpGroup: 'FACTS' }),
  spindles: Flags.integer({
    summary: 'Effective spindle count of an HDD database.',
    min: 1,
    max: 1000,
    helpGroup: 'FACTS',
    dependsOn: ['disk'],
  }),
};

/** Where facts come from besides flags. */
export const sourceFlags = {
  manifests: Flags.directory({
    summary: 'Kubernetes manifest directory to read (and write with --write); repeatable.',
    multiple: true,
    helpGroup: 'SOURCES',
  }),
  // Formerly --env-file, which TuneCommand.init still reads as --dotenv (with a warning): Node.js
  // itself checks a file named by --env-file anywhere on its command line and exits 9 when it is
  // missing, before the CLI runs (docs/tune.md).
  dotenv: Flags.file({
    summary: '.env file to read (and write with --write); repeatable.',
    multiple: true,
    helpGroup: 'SOURCES',
  }),

  live: Flags.boolean({
    summary: 'Read the running stack: PostgreSQL settings, worker /metrics, RabbitMQ queue, Redis keys.',
    helpGroup: 'SOURCES',
  }),
  timeout: durationFlag({
    summary: 'How long each live source may take (with --live).',
    default: 3000,
    min: 100,
    max: 60_000,
    helpGroup: 'SOURCES',
  }),
  ...clusterFlags,
  'api-workload': Flags.string({
    summary: 'Name of the API Deployment when the manifests hold several.',
    relationships: [{ type: 'some', flags: ['manifests', 'k8s'] }],
    helpGroup: 'SOURCES',
  }),
  'worker-workload': Flags.string({
    summary: 'Name of the worker Deployment when the manifests hold several.',
    relationships: [{ type: 'some', flags: ['manifests', 'k8s'] }],
    helpGroup: 'SOURCES',
  }),
  'cgroup-root': Flags.directory({
    summary: 'Root of /proc and /sys/fs/cgroup to read container limits from.',
    env: 'SENTINEL_CGROUP_ROOT',
    hidden: true,
  }),
  facts: Flags.boolean({
    summary: 'Also print the table of facts and where each came from.',
    helpGroup: 'OUTPUT',
  }),
};

/** Every fact flag: what `tune check` accepts. */
export const factFlags = { ...podFlags, ...replicaFlags, ...databaseFlags, ...sourceFlags };

/** Execution times, when there is no live worker histogram to read them from. */
export const execFlags = {
  p50: durationFlag({ summary: 'Median execution time, e.g. 250ms (with --p99).', helpGroup: 'FACTS' }),
  p99: durationFlag({
    summary: '99th percentile execution time, e.g. 2s (with --p50).',
    helpGroup: 'FACTS',
  }),
  // The old spellings: milliseconds as a bare number; hidden, warned about (legacyMsWarning).
  'p50-ms': legacyMsFlag({ replacement: 'p50', helpGroup: 'FACTS' }),
  'p99-ms': legacyMsFlag({ replacement: 'p99', helpGroup: 'FACTS' }),
};

/** The deprecation warnings for the legacy execution-time flags that were given. */
export function legacyExecWarnings(f: FactFlagValues): string[] {
  const out: string[] = [];
  if (f['p50-ms'] !== undefined) out.push(legacyMsWarning('p50-ms', 'p50', f['p50-ms']));
  if (f['p99-ms'] !== undefined) out.push(legacyMsWarning('p99-ms', 'p99', f['p99-ms']));
  return out;
}

/** Redis keyspace, when there is no live Redis to count and sample. */
export const redisFlags = {
  keys: Flags.integer({ summary: 'Keys Redis holds at peak.', min: 0, max: 1e12, helpGroup: 'FACTS' }),
  'bytes-per-key': Flags.integer({
    summary: 'Measured bytes per key (MEMORY USAGE).',
    min: 1,
    max: 512 * 1024 * 1024,
    dependsOn: ['keys'],
    helpGroup: 'FACTS',
  }),
};

/** `--write` and `--dry-run`: both need something to change. */
export const writeFlags = {
  'exit-code': Flags.boolean({
    summary: 'With --dry-run: exit 1 when there are changes, 0 when none (as git diff --exit-code).',
    dependsOn: ['dry-run'],
  }),
  write: Flags.boolean({
    summary: 'Apply the recommendations to --manifests / --dotenv (shows the diff first).',
    exclusive: ['dry-run'],
    // With --k8s alone, TuneCommand.init refuses first, saying why: tune never edits the cluster.
    relationships: [{ type: 'some', flags: ['manifests', 'dotenv'] }],
  }),
  'dry-run': Flags.boolean({
    summary: 'Print only the unified diff --write would apply; change nothing.',
    relationships: [{ type: 'some', flags: ['manifests', 'dotenv'] }],
  }),
  'show-secrets': Flags.boolean({
    summary: 'Print secret values in the diff (unmasked), so that git apply accepts it.',
    description:
      'By default Secret values, secret-looking keys and URL passwords are shown as ****; a file whose diff masks something is marked MASKED and named in a warning, because that diff does not apply with git apply.',
  }),
};

export type FactFlagValues = {
  cpus?: number;
  memory?: number;
  'api-replicas'?: number;
  'worker-replicas'?: number;
  'max-replicas'?: number;
  disk?: 'ssd' | 'hdd';
  'db-cpus'?: number;
  spindles?: number;
  'max-connections'?: number;
  p50?: number;
  p99?: number;
  'p50-ms'?: number;
  'p99-ms'?: number;
  keys?: number;
  'bytes-per-key'?: number;
};

/** The parsed flags as facts. */
export function factsFromFlags(f: FactFlagValues, extra: Partial<FactFlags> = {}): FactFlags {
  const p50 = f.p50 ?? f['p50-ms'];
  const p99 = f.p99 ?? f['p99-ms'];
  const p50Name = f.p50 !== undefined ? '--p50' : '--p50-ms';
  const p99Name = f.p99 !== undefined ? '--p99' : '--p99-ms';
  if ((p50 === undefined) !== (p99 === undefined)) {
    throw new UserError(
      `${p50 === undefined ? p99Name : p50Name} needs ${p50 === undefined ? '--p50' : '--p99'} too.`,
      {
        suggestion:
          'Give both execution times, e.g. --p50 250ms --p99 2s, or read them from the worker with --live.',
      },
    );
  }
  if (p50 !== undefined && p99 !== undefined && p50 > p99) {
    throw new UserError(
      `${p50Name} ${formatDuration(p50)} is above ${p99Name} ${formatDuration(p99)}: a median cannot exceed the 99th percentile.`,
      {
        suggestion: 'Swap the two values, or read them from the worker with --live.',
      },
    );
  }
  const out: FactFlags = { ...extra };
  if (f.cpus !== undefined) out.cpus = f.cpus;
  if (f.memory !== undefined) out.memory = f.memory;
  if (f['api-replicas'] !== undefined) out.apiReplicas = f['api-replicas'];
  if (f['worker-replicas'] !== undefined) out.workerReplicas = f['worker-replicas'];
  if (f['max-replicas'] !== undefined) out.maxReplicas = f['max-replicas'];
  if (f.disk !== undefined) out.disk = f.disk;
  if (f['db-cpus'] !== undefined) out.dbCpus = f['db-cpus'];
  if (f.spindles !== undefined) out.spindles = f.spindles;
  if (f['max-connections'] !== undefined) out.maxConnections = f['max-connections'];
  if (p50 !== undefined) out.p50Ms = p50;
  if (p99 !== undefined) out.p99Ms = p99;
  if (f.keys !== undefined) out.keys = f.keys;
  if (f['bytes-per-key'] !== undefined) out.bytesPerKey = f['bytes-per-key'];
  return out;
}

export type { FlagOverride };
