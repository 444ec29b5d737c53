/**
 * `tune pool`: WORKER_POOL_SIZE and the worker pod's resources, the pgx pool of each API replica
 * (pool_max_conns / pool_min_conns in DATABASE_URL), the worker's own DATABASE_URL pool, and the
 * PostgreSQL max_connections that holds them all at once.
 */

import type { Gathered } from '../facts/gather.js';
import { profileSizing } from '../facts/profiles.js';
import { POOL_SIZE_KEYS, type RoleWorkload } from '../facts/roles.js';
import {
  effectiveEnv,
  findConnectionStrings,
  findMaxConnections,
  type ManifestEdit,
  setParams,
} from '../manifests/index.js';
import {
  type DatabaseHost,
  type DiskKind,
  type Fact,
  formatCpu,
  formatMemory,
  maxConnections,
  maxWorkers,
  PG_DEFAULT_SUPERUSER_RESERVED,
  pgxPoolMaxConns,
  pgxPoolMinConns,
  pgxProfileTable,
  recommend,
  sources,
  WORKER_DB_CONNECTIONS_PER_REPLICA,
  workerPoolSize,
  workerResources,
} from '../tuners/index.js';
import { row, type TunePlan, type TuneRow } from './types.js';

function selector(r: RoleWorkload) {
  const o = r.workload.object;
  return { kind: o.kind, name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) };
}

/** The variable name a container already uses for the pool size (POOL_SIZE upstream), else WORKER_POOL_SIZE. */
function poolVarName(r: RoleWorkload | undefined): string {
  if (!r) return 'WORKER_POOL_SIZE';
  return POOL_SIZE_KEYS.find((k) => effectiveEnv(r.container, k)) ?? 'WORKER_POOL_SIZE';
}

const sameQuantity = (cur: unknown, rec: number) => cur === rec;

/** Whether KEDA scales the workers, and to how many replicas at most. */
export function kedaPeak(
  g: Gathered,
): { maxReplicaCount: number; fact?: Fact<number>; assumed?: string } | undefined {
  const f = g.book.get<number>('keda.maxReplicaCount');
  if (f) return { maxReplicaCount: f.value, fact: f };
  // A manifest tree without a ScaledObject, or the local stack (live): the workers are not scaled by KEDA.
  if (g.tree || g.k8s || g.book.get('worker.replicas')?.from === 'live') return undefined;
  const sizing = profileSizing[g.profile];
  return {
    maxReplicaCount: sizing.kedaMaxReplicas,
    assumed: `${g.profile} profile: the guide's deployment scales the workers with KEDA up to ${sizing.kedaMaxReplicas} (${sizing.kedaMaxReplicasWhy})`,
  };
}

export function planPool(g: Gathered): TunePlan {
  const b = g.book;
  const rows: TuneRow[] = [];
  const edits: ManifestEdit[] = [];
  const warnings: string[] = [];
  const roles = g.roles;
  const profileRow = pgxProfileTable[g.profile];
  const sizing = profileSizing[g.profile];

  // Worker pool: min(cores, RAM / 0.5 GiB) of the pod (tuning guide "Worker Pool Sizing").
  const cpu = b.value<number>('worker.cpuMillicores') ?? sizing.workerCpuMillicores;
  const mem = b.value<number>('worker.memoryBytes') ?? sizing.workerMemoryBytes;
  const pool = workerPoolSize({ cpuMillicores: cpu, memoryBytes: mem });
  const poolVar = poolVarName(roles?.worker);
  rows.push(row(poolVar, 'worker', pool, b.get('worker.poolSize')));

  const res = workerResources(pool.value);
  const resRows: Array<[string, typeof res.requestsCpu, string, (n: number) => string]> = [
    ['resources.requests.cpu', res.requestsCpu, 'worker.requests.cpuMillicores', formatCpu],
    ['resources.requests.memory', res.requestsMemory, 'worker.requests.memoryBytes', formatMemory],
    ['resources.limits.cpu', res.limitsCpu, 'worker.limits.cpuMillicores', formatCpu],
    ['resources.limits.memory', res.limitsMemory, 'worker.limits.memoryBytes', formatMemory],
  ];
  for (const [setting, rec, fact, show] of resRows) {
    rows.push(
      row(setting, 'worker', rec, b.get(fact), {
        show,
        showCurrent: (v) => show(v as number),
        same: sameQuantity,
      }),
    );
  }

  // API pool per replica: the guide's profile table, or its hardware rule when the database's
  // cores and disk are known ("PostgreSQL Connection Pool > Recommendations").
  const apiReplicasFact = b.get<number>('api.replicas');
  const apiReplicas = apiReplicasFact?.value ?? profileRow.apiReplicas;
  const dbCores = b.value<number>('postgres.cores');
  const disk = b.value<DiskKind>('postgres.disk');
  const spindles = b.value<number>('postgres.spindles');
  const db: DatabaseHost | undefined =
    dbCores !== undefined && disk !== undefined
      ? { cpuMillicores: Math.round(dbCores * 1000), disk, ...(spindles !== undefined ? { spindles } : {}) }
      : undefined;
  const apiPool = pgxPoolMaxConns({ profile: g.profile, apiReplicas, ...(db ? { db } : {}) });
  const apiMin = pgxPoolMinConns(apiPool.value);
  rows.push(row('pool_max_conns', 'api DATABASE_URL', apiPool, b.get('api.poolMaxConns')));
  rows.push(row('pool_min_conns', 'api DATABASE_URL', apiMin, b.get('api.poolMinConns')));

  // The worker's own pool: the connections per replica that max_connections counts for it. With
  // KEDA every execution may hold one (pool size); without, the guide's 2 per replica.
  const keda = kedaPeak(g);
  const workerConns = keda
    ? Math.max(WORKER_DB_CONNECTIONS_PER_REPLICA, pool.value)
    : WORKER_DB_CONNECTIONS_PER_REPLICA;
  const workerPoolRec = keda
    ? recommend(
        workerConns,
        `max(2, WORKER_POOL_SIZE ${pool.value}) = ${workerConns}: with KEDA each execution may hold a connection, and max_connections counts ${keda.maxReplicaCount} × ${pool.value}; explicit, because pgx's default max(4, NumCPU) counts the node's CPUs`,
        sources.kedaMaxWorkers,
        { basis: 'guide-formula' },
      )
    : recommend(
        workerConns,
        `${WORKER_DB_CONNECTIONS_PER_REPLICA} per worker replica, as max_connections counts them; explicit, because pgx's default max(4, NumCPU) counts the node's CPUs`,
        sources.pgxRecommendations,
        { basis: 'guide-formula' },
      );
  const workerMin = pgxPoolMinConns(workerConns);
  rows.push(row('pool_max_conns', 'worker DATABASE_URL', workerPoolRec, b.get('worker.dbPoolMaxConns')));

  // max_connections: every pool that can be open at once.
  const workerReplicasFact = b.get<number>('worker.replicas');
  const workerReplicas = workerReplicasFact?.value ?? sizing.workerReplicas;
  const su = b.value<number>('postgres.superuserReservedConnections') ?? PG_DEFAULT_SUPERUSER_RESERVED;
  const rc = b.value<number>('postgres.reservedConnections');
  const maxConn = maxConnections({
    apiReplicas,
    apiPoolMaxConns: apiPool.value,
    workerReplicas,
    ...(keda ? { keda: { maxReplicaCount: keda.maxReplicaCount, workerPoolSize: pool.value } } : {}),
    superuserReservedConnections: su,
    ...(rc !== undefined ? { reservedConnections: rc } : {}),
  });
  rows.push(row('max_connections', 'postgresql', maxConn, b.get('postgres.maxConnections')));
  if (keda) {
    const mw = maxWorkers(keda.maxReplicaCount, pool.value, {
      maxConnections: maxConn.value,
      superuserReservedConnections: su,
    });
    rows.push(row('max_workers', 'KEDA × pool', mw, undefined, { info: true }));
    if (keda.assumed)
      warnings.push(`No ScaledObject given: ${keda.assumed}. Pass --max-replicas to change it.`);
  }
  if (!apiReplicasFact)
    warnings.push(
      `API replicas unknown: the ${g.profile} profile's ${apiReplicas} (tuning guide table). Pass --api-replicas to change it.`,
    );
  const hpaMax = b.value<number>('api.hpaMaxReplicas');
  if (hpaMax !== undefined && hpaMax > apiReplicas) {
    warnings.push(
      `The API's HorizontalPodAutoscaler can scale it to ${hpaMax} replicas: ${hpaMax} × ${apiPool.value} = ${hpaMax * apiPool.value} connections, ` +
        `${(hpaMax - apiReplicas) * apiPool.value} more than the ${apiReplicas} × ${apiPool.value} that max_connections counts with --api-replicas ${apiReplicas}. ` +
        `Size for the peak (drop --api-replicas), or lower the HPA's maxReplicas.`,
    );
  }

  if (!g.tree) return { rows, edits, warnings };
  const tree = g.tree;

  // WORKER_POOL_SIZE: the worker's env (followed into its ConfigMap), and env files that set it.
  if (roles?.worker) {
    edits.push({
      op: 'set-env',
      workload: selector(roles.worker),
      container: roles.worker.container.name,
      name: poolVar,
      value: String(pool.value),
      reason: pool.reason,
    });
    // One edit for all four values: creating keys in an empty `resources: {}` from separate edits
    // would collide in the library's planner.
    edits.push({
      op: 'set-resources',
      workload: selector(roles.worker),
      container: roles.worker.container.name,
      resources: {
        requests: { cpu: formatCpu(res.requestsCpu.value), memory: formatMemory(res.requestsMemory.value) },
        limits: { cpu: formatCpu(res.limitsCpu.value), memory: formatMemory(res.limitsMemory.value) },
      },
      reason: `requests: ${res.requestsCpu.reason}, ${res.requestsMemory.reason}; limits: ${res.limitsCpu.reason}, ${res.limitsMemory.reason}`,
    });
  } else
    warnings.push(
      'No worker Deployment found in the manifests: WORKER_POOL_SIZE and its resources are not written.',
    );
  for (const f of tree.files) {
    if (f.type !== 'env') continue;
    const key = POOL_SIZE_KEYS.find((k) => f.entries.some((e) => e.key === k));
    if (key || g.envFiles.includes(f.display)) {
      edits.push({
        op: 'set-env-file-var',
        file: f.display,
        name: key ?? 'WORKER_POOL_SIZE',
        value: String(pool.value),
        reason: pool.reason,
      });
    }
  }

  // pool_max_conns / pool_min_conns in the API's DATABASE_URL wherever it lives.
  const params = { pool_max_conns: apiPool.value, pool_min_conns: apiMin.value };
  const conn = findConnectionStrings(tree);
  if (roles?.api) {
    // Two edits (they compose on the same strings), so each value carries its own formula.
    edits.push(
      {
        op: 'set-pool-params',
        params: { pool_max_conns: apiPool.value },
        workload: selector(roles.api),
        reason: apiPool.reason,
      },
      {
        op: 'set-pool-params',
        params: { pool_min_conns: apiMin.value },
        workload: selector(roles.api),
        reason: apiMin.reason,
      },
    );
  } else {
    // No API Deployment: only env files (a compose deployment), changed line by line.
    for (const s of conn.sites) {
      if (s.site.type !== 'env-file') continue;
      const f = tree.files.find((x) => x.display === s.file);
      const e = f?.type === 'env' ? f.entries.find((x) => x.key === s.key) : undefined;
      if (e?.value === undefined) continue;
      edits.push({
        op: 'set-env-file-var',
        file: s.file,
        name: s.key,
        value: setParams(e.value, params),
        reason: apiPool.reason,
      });
    }
    if (tree.objects.length > 0)
      warnings.push('No API Deployment found in the manifests: its DATABASE_URL pool is not written.');
  }
  if (roles?.worker && effectiveEnv(roles.worker.container, 'DATABASE_URL')) {
    const workerName = roles.worker.workload.object;
    const apiName = roles.api?.workload.object;
    const shared = conn.sites.filter(
      (s) =>
        s.usedBy.some((u) => u.workload === workerName) &&
        apiName !== undefined &&
        s.usedBy.some((u) => u.workload === apiName),
    );
    if (shared.length > 0) {
      warnings.push(
        `The API and the worker read the same DATABASE_URL (${shared.map((s) => `${s.file}:${s.line}`).join(', ')}), so each worker pod opens the API's pool of ${apiPool.value}: ` +
          `give the worker its own DATABASE_URL with pool_max_conns=${workerConns}. The worker's pool is not written.`,
      );
    } else {
      const worker = selector(roles.worker);
      edits.push(
        {
          op: 'set-pool-params',
          params: { pool_max_conns: workerConns },
          workload: worker,
          envFiles: false,
          reason: workerPoolRec.reason,
        },
        {
          op: 'set-pool-params',
          params: { pool_min_conns: workerMin.value },
          workload: worker,
          envFiles: false,
          reason: workerMin.reason,
        },
      );
    }
  }

  // max_connections wherever PostgreSQL's settings are (conf key, -c args, operator parameters).
  if (findMaxConnections(tree).length > 0 || roles?.postgres) {
    edits.push({ op: 'set-max-connections', value: maxConn.value, reason: maxConn.reason });
  } else if (tree.objects.length > 0) {
    warnings.push(
      `PostgreSQL is not in the manifests (a managed database?): set max_connections to ≥ ${maxConn.value} there.`,
    );
  }
  return { rows, edits, warnings };
}
