import { Flags } from '@oclif/core';
import { SentinelCommand } from '../../cli/base-command.js';
import { clusterFlags } from '../../k8s/flags.js';
import { CheckFailedError, UserError } from '../../lib/errors.js';
import { renderTable } from '../../lib/table.js';
import { wrapToTerminal } from '../../lib/terminal.js';
import { databaseFlags } from '../../tune-command/flags.js';
import { shortSource } from '../../tune-command/render.js';
import {
  asyncpgPool,
  type Recommendation,
  type Source,
  sqlalchemyPool,
  type TunerWarning,
} from '../../tuners/index.js';

export interface TuneAppPoolResult {
  client: 'sqlalchemy' | 'asyncpg';
  replicas: number;
  maxConnections?: number;
  /** Where max_connections was read with --k8s (`k8s: k8s:statefulset/postgres@sentinel …`). */
  maxConnectionsFrom?: string;
  settings: Array<{ setting: string; value: number }>;
  reason: string;
  source: Source;
  /** The check: the pools of every replica fit max_connections. */
  fits: boolean;
  warnings: TunerWarning[];
}

/** The pool does not fit the database: exit 1, with the sizing in the --json envelope. */
class PoolDoesNotFitError extends CheckFailedError {
  constructor(result: TuneAppPoolResult) {
    super(result.warnings.map((w) => w.message).join(' '), {
      code: 'POOL_EXCEEDS_MAX_CONNECTIONS',
      result,
      suggestion:
        'Raise max_connections, run fewer replicas, or put a pooler (PgBouncer) in front; then run this check again.',
    });
  }
}

export default class TuneAppPool extends SentinelCommand<TuneAppPoolResult> {
  static override summary = "Size a Python service's database pool: SQLAlchemy (SARK) or asyncpg (Jackdaw).";
  static override description =
    `sqlalchemy: the SARK tuning guide's "Database Optimization > Connection Pooling" pool_size by deployment size (1–3 pods 20, 4–10 pods 15, more 10) plus max_overflow 10, checked as pods × pool_size and pods × (pool_size + max_overflow) against max_connections. asyncpg: the Jackdaw benchmarking guide's "6. Connection Pool Tuning > asyncpg" max_size = floor(max_connections × 0.8 / replicas), min_size 5, checked as replicas × max_size against max_connections.

With --k8s, max_connections and superuser_reserved_connections come from the cluster's PostgreSQL (its StatefulSet's -c args or postgresql.conf ConfigMap) unless given.

Exit 1 when the replicas' pools cannot fit max_connections (the check), 0 otherwise.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client sqlalchemy --replicas 6 \\\n    --max-connections 200',
    '<%= config.bin %> <%= command.id %> --client asyncpg --replicas 2 \\\n    --max-connections 100',
    '<%= config.bin %> <%= command.id %> --client asyncpg --replicas 4 --k8s -n sentinel',
  ];
  static override flags = {
    client: Flags.option({ options: ['sqlalchemy', 'asyncpg'] as const, required: true })({
      summary: 'The pool library: sqlalchemy (SARK, per pod) or asyncpg (Jackdaw, per replica).',
    }),
    replicas: Flags.integer({
      summary: 'Pods (replicas) of the service.',
      min: 1,
      max: 10_000,
      required: true,
    }),
    'max-connections': databaseFlags['max-connections'],
    ...clusterFlags,
    'superuser-reserved-connections': Flags.integer({
      summary: "PostgreSQL's superuser_reserved_connections (sqlalchemy check; default 3).",
      min: 0,
      max: 100,
    }),
  };

  async run(): Promise<TuneAppPoolResult> {
    const { flags } = await this.parse(TuneAppPool);
    let maxConnections = flags['max-connections'];
    let superuserReserved = flags['superuser-reserved-connections'];
    let maxConnectionsFrom: string | undefined;
    if (flags.k8s) {
      // The cluster's PostgreSQL (its StatefulSet's args or postgresql.conf ConfigMap), read as tune --k8s reads it.
      const { gatherFacts } = await import('../../facts/gather.js');
      const g = await gatherFacts({
        profile: 'dev',
        profileFrom: 'default',
        flags: {},
        k8s: {
          ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
          ...(flags.context ? { context: flags.context } : {}),
          ...(flags.namespace ? { namespace: flags.namespace } : {}),
        },
      });
      for (const w of g.warnings) this.warnUser(w);
      const mc = g.book.get<number>('postgres.maxConnections');
      if (maxConnections === undefined && mc) {
        maxConnections = mc.value;
        maxConnectionsFrom = `${mc.from}: ${mc.detail}`;
        this.note(`Note: max_connections ${mc.value} from ${mc.detail}.`);
      }
      const su = g.book.get<number>('postgres.superuserReservedConnections');
      if (superuserReserved === undefined && su) superuserReserved = su.value;
    }
    let rec: Recommendation<Record<string, number>>;
    let settings: TuneAppPoolResult['settings'];
    if (flags.client === 'asyncpg') {
      if (maxConnections === undefined) {
        throw new UserError('asyncpg sizing needs --max-connections.', {
          suggestion:
            "Pass the database's max_connections, e.g. --max-connections 100, or read it from the cluster with --k8s.",
        });
      }
      const r = asyncpgPool({ maxConnections, replicas: flags.replicas });
      rec = r;
      settings = [
        { setting: 'max_size', value: r.value.maxSize },
        { setting: 'min_size', value: r.value.minSize },
      ];
    } else {
      const r = sqlalchemyPool({
        pods: flags.replicas,
        ...(maxConnections !== undefined ? { maxConnections } : {}),
        ...(superuserReserved !== undefined ? { superuserReservedConnections: superuserReserved } : {}),
      });
      rec = r;
      settings = [
        { setting: 'pool_size', value: r.value.poolSize },
        { setting: 'max_overflow', value: r.value.maxOverflow },
      ];
    }
    const warnings = rec.warnings ?? [];
    const fits = !warnings.some((w) => /exceeds-max-connections$/.test(w.code));
    const result: TuneAppPoolResult = {
      client: flags.client,
      replicas: flags.replicas,
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(maxConnectionsFrom ? { maxConnectionsFrom } : {}),
      settings,
      reason: rec.reason,
      source: rec.source,
      fits,
      warnings,
    };
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['SETTING', 'PER REPLICA'],
          settings.map((s) => [s.setting, s.value]),
        ),
      );
      this.log(`\n${wrapToTerminal(`Why: ${rec.reason} [${shortSource(rec.source)}]`, 2)}`);
    }
    if (!fits) throw new PoolDoesNotFitError(result);
    for (const w of warnings) this.warnUser(w.message);
    if (maxConnections === undefined) {
      this.note(
        flags.k8s
          ? 'Note: the cluster shows no PostgreSQL max_connections; pass --max-connections to check the pools against the database.'
          : 'Note: pass --max-connections to check the pools against the database.',
      );
    }
    return result;
  }
}
