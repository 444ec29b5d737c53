import { Flags } from '@oclif/core';
import { SentinelCommand } from '../../cli/base-command.js';
import { clusterFlags, k8sOnly } from '../../k8s/flags.js';
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
  /** `--replicas`, or with --k8s where they were read (`k8s: deployment/api@sentinel spec.replicas`). */
  replicasFrom: string;
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

With --k8s, the replicas come from the API's Deployment, found as \`tune pool --k8s\` finds it (the Deployment whose name contains "api", or --api-workload NAME; its HPA's maxReplicas when one scales it, as the peak), and max_connections and superuser_reserved_connections from the cluster's PostgreSQL (its StatefulSet's -c args or postgresql.conf ConfigMap); flags given win.

Exit 1 when the replicas' pools cannot fit max_connections (the check), 0 otherwise.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client sqlalchemy --replicas 6 \\\n    --max-connections 200',
    '<%= config.bin %> <%= command.id %> --client asyncpg --replicas 2 \\\n    --max-connections 100',
    '<%= config.bin %> <%= command.id %> --client asyncpg --k8s -n sentinel',
    '<%= config.bin %> <%= command.id %> --client sqlalchemy --k8s -n sark \\\n    --api-workload sark-api',
  ];
  static override flags = {
    client: Flags.option({ options: ['sqlalchemy', 'asyncpg'] as const, required: true })({
      summary: 'The pool library: sqlalchemy (SARK, per pod) or asyncpg (Jackdaw, per replica).',
    }),
    replicas: Flags.integer({
      summary: 'Pods (replicas) of the service (with --k8s: read from its Deployment unless given).',
      min: 1,
      max: 10_000,
    }),
    'max-connections': databaseFlags['max-connections'],
    ...clusterFlags,
    'api-workload': Flags.string({
      summary: "The Deployment to read the replicas from (default: the API's, as tune pool finds it).",
      ...k8sOnly,
    }),
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
    let replicas = flags.replicas;
    let replicasFrom = '--replicas';
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
        ...(flags['api-workload'] ? { workloads: { api: flags['api-workload'] } } : {}),
        // app-pool sizes the API's pools only: which Deployment is the worker does not matter.
        askWorker: false,
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
      // The API's replicas as tune pool reads them: the Deployment's, or its HPA's peak.
      const rf = g.book.get<number>('api.replicas');
      if (replicas === undefined && rf) {
        replicas = rf.value;
        replicasFrom = `${rf.from}: ${rf.detail}`;
        this.note(`Note: ${rf.value} replicas from ${rf.detail}.`);
      }
      if (replicas === undefined) {
        const where = g.k8s ? `namespace ${g.k8s.namespace} of context "${g.k8s.context}"` : 'the cluster';
        throw new UserError(
          flags['api-workload']
            ? `Deployment ${flags['api-workload']} in ${where} has no replica count.`
            : `No API Deployment (a Deployment named like "api") in ${where} to read the replicas from.`,
          {
            suggestion:
              'Name the Deployment with --api-workload NAME (and its namespace with -n), or pass --replicas N.',
          },
        );
      }
    }
    if (replicas === undefined) {
      throw new UserError('--replicas is required without --k8s.', {
        suggestion:
          'Pass the pods of the service, e.g. --replicas 4, or read them from its Deployment with --k8s (-n NAMESPACE, --api-workload NAME).',
      });
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
      const r = asyncpgPool({ maxConnections, replicas });
      rec = r;
      settings = [
        { setting: 'max_size', value: r.value.maxSize },
        { setting: 'min_size', value: r.value.minSize },
      ];
    } else {
      const r = sqlalchemyPool({
        pods: replicas,
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
      replicas,
      replicasFrom,
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
