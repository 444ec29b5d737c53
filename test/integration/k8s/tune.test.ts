/**
 * `tune --k8s` and `tune check --k8s --manifests` against a real kube-apiserver (test/helpers/k8s.ts):
 * the prod set of `generate k8s` applied with `up --k8s`, Nodes created with their allocatable
 * written through the status subresource (no kubelet runs here), RBAC on. tune reads as a user bound
 * to the read-only role of rbac/sentinel-ctl.yaml, and never changes the cluster.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FactRow } from '../../../src/facts/book.js';
import type { DriftItem } from '../../../src/k8s/tune.js';
import type { TuneResult } from '../../../src/tune-command/types.js';
import { cli, cliJson, repoRoot } from '../../helpers/cli.js';
import {
  adminRequest,
  kubeconfigYaml,
  readObjects,
  startTestCluster,
  type TestCluster,
} from '../../helpers/k8s.js';

let cluster: TestCluster;
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-k8s-tune-'));
const git = path.join(work, 'deploy');
const NS = 'sentinel';
const PASSWORD = 'test-only-secret-7f3a';
let reader: string[];
let noSecrets: string[];

type CheckJson = {
  drift?: DriftItem[];
  facts: FactRow[];
  errors: number;
  cluster?: { context: string; server: string; namespace: string };
};

/** Plain REST as admin, for what the test itself writes and reads. */
const api = <T = Record<string, unknown>>(
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
) => adminRequest<T>(cluster, method, urlPath, body, undefined, contentType);

const merge = (urlPath: string, body: unknown) => api('PATCH', urlPath, body, 'application/merge-patch+json');

/** Every object's resourceVersion in the namespace (and the Nodes): tune must move none of them. */
async function versions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const lists = [
    '/apis/apps/v1/namespaces/sentinel/deployments',
    '/apis/apps/v1/namespaces/sentinel/statefulsets',
    '/apis/autoscaling/v2/namespaces/sentinel/horizontalpodautoscalers',
    '/apis/keda.sh/v1alpha1/namespaces/sentinel/scaledobjects',
    '/apis/keda.sh/v1alpha1/namespaces/sentinel/triggerauthentications',
    '/api/v1/namespaces/sentinel/configmaps',
    '/api/v1/namespaces/sentinel/secrets',
    '/api/v1/nodes',
  ];
  for (const l of lists) {
    const r = await api<{ items: Array<{ metadata: { name: string; resourceVersion: string } }> }>('GET', l);
    for (const o of r.body.items) out[`${l}/${o.metadata.name}`] = o.metadata.resourceVersion;
  }
  return out;
}

const fact = (facts: FactRow[], name: string) => facts.find((f) => f.name === name && f.used);

beforeAll(async () => {
  cluster = await startTestCluster('k8sTune', ['reader', 'nosecrets']);
  const g = await cli(['generate', 'k8s', '--profile', 'prod', '--out', git]);
  expect(g.exitCode, g.stderr).toBe(0);
  const secrets = path.join(git, '01-secrets.yaml');
  writeFileSync(secrets, readFileSync(secrets, 'utf8').replaceAll('REPLACE_ME', PASSWORD));
  const up = await cli(['up', '--k8s', '--kubeconfig', cluster.kubeconfig, '--manifests', git, '--no-wait']);
  expect(up.exitCode, up.stderr).toBe(0);
  // Two nodes, as a kubelet would register them: the object, then its status.
  for (const [name, cpu, memory] of [
    ['node-a', '4', '16Gi'],
    ['node-b', '8', '32Gi'],
  ] as const) {
    expect(
      (await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } })).status,
    ).toBe(201);
    const s = await merge(`/api/v1/nodes/${name}/status`, {
      status: { capacity: { cpu, memory, pods: '110' }, allocatable: { cpu, memory, pods: '110' } },
    });
    expect(s.status).toBe(200);
  }
  // The read-only roles `generate k8s` writes, bound to `reader`; `nosecrets` gets a copy of the
  // namespace role without Secrets and no ClusterRole (so no Nodes either).
  const rbac = readObjects(path.join(git, 'rbac/sentinel-ctl.yaml'));
  for (const o of rbac) await cluster.api.create(o);
  const subjects = (user: string) => [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }];
  await cluster.api.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'reader-read', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sentinel-ctl-read' },
    subjects: subjects('reader'),
  } as KubernetesObject);
  await cluster.api.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'reader-read' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sentinel-ctl-read' },
    subjects: subjects('reader'),
  } as KubernetesObject);
  const readRole = rbac.find(
    (o) => o.kind === 'Role' && o.metadata?.name === 'sentinel-ctl-read',
  ) as KubernetesObject & {
    rules: Array<{ resources: string[] }>;
  };
  await cluster.api.create({
    ...readRole,
    metadata: { name: 'read-no-secrets', namespace: NS },
    rules: readRole.rules.map((r) => ({ ...r, resources: r.resources.filter((x) => x !== 'secrets') })),
  } as KubernetesObject);
  await cluster.api.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'nosecrets-read', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-no-secrets' },
    subjects: subjects('nosecrets'),
  } as KubernetesObject);
  reader = ['--k8s', '--kubeconfig', cluster.kubeconfigFor('reader'), '-n', NS];
  noSecrets = ['--k8s', '--kubeconfig', cluster.kubeconfigFor('nosecrets'), '-n', NS];
}, 3_600_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('tune --k8s reads the live objects with the read-only role', () => {
  test('tune pool --k8s: every fact from the cluster names its object; the same recommendations as from the Git files', async () => {
    const before = await versions();
    const live = await cliJson<TuneResult>(['tune', 'pool', ...reader]);
    expect(live.exitCode, live.json.error?.message ?? live.stderr).toBe(0);
    const facts = live.json.result.facts;
    expect(fact(facts, 'k8s.context')?.value).toBe(`sentinel-test (${cluster.server})`);
    expect(fact(facts, 'worker.poolSize')).toMatchObject({
      value: '4',
      from: 'k8s',
      detail: 'deployment/worker@sentinel env WORKER_POOL_SIZE (ConfigMap worker-config)',
    });
    expect(fact(facts, 'api.replicas')?.detail).toContain(
      'horizontalpodautoscaler/api@sentinel spec.maxReplicas',
    );
    expect(fact(facts, 'postgres.maxConnections')).toMatchObject({ value: '413', from: 'k8s' });
    expect(fact(facts, 'postgres.maxConnections')?.detail).toContain('statefulset/postgres@sentinel');
    // The pools inside DATABASE_URL come from the Secrets the Deployments reference.
    expect(fact(facts, 'api.poolMaxConns')).toMatchObject({ value: '20', from: 'k8s' });
    expect(fact(facts, 'api.poolMaxConns')?.detail).toContain('(Secret api-secrets)');
    expect(fact(facts, 'keda.maxReplicaCount')).toMatchObject({ value: '50', from: 'k8s' });
    expect(fact(facts, 'node.node-b.allocatable')).toMatchObject({
      value: '8 cores CPU, 32Gi memory, 110 pods',
      detail: 'node/node-b status.allocatable',
    });
    expect(fact(facts, 'node.node-a.allocatable')?.value).toBe('4 cores CPU, 16Gi memory, 110 pods');
    // No password anywhere in the output.
    expect(live.stdout + live.stderr).not.toContain(PASSWORD);

    const files = await cliJson<TuneResult>(['tune', 'pool', '--manifests', git]);
    expect(files.exitCode, files.json.error?.message).toBe(0);
    const rec = (r: TuneResult) =>
      r.rows.map((x) => [x.setting, x.component, x.current, x.recommended, x.status]);
    expect(rec(live.json.result)).toEqual(rec(files.json.result));
    // Git and the cluster hold the same objects: nothing to change.
    expect(live.json.result.rows.filter((r) => r.status === 'change')).toEqual([]);
    expect(await versions()).toEqual(before);
  });

  test('every tune topic and tune check run with --k8s and read their facts from the cluster', async () => {
    const before = await versions();
    const want: Record<string, string> = {
      keda: 'keda.pollingInterval',
      prefetch: 'worker.prefetch',
      redis: 'redis.maxmemoryBytes',
      rabbitmq: 'rabbitmq.vmMemoryHighWatermark',
    };
    for (const [topic, name] of Object.entries(want)) {
      const r = await cliJson<TuneResult>(['tune', topic, ...reader]);
      expect(r.exitCode, `${topic}: ${r.json.error?.message ?? r.stderr}`).toBe(0);
      expect(fact(r.json.result.facts, name)?.from, `${topic} ${name}`).toBe('k8s');
      expect(fact(r.json.result.facts, name)?.detail).toMatch(/^[a-z]+\/[\w-]+@sentinel /);
    }
    const app = await cliJson<{
      maxConnections: number;
      maxConnectionsFrom: string;
      replicas: number;
      replicasFrom: string;
      settings: unknown[];
    }>(['tune', 'app-pool', '--client', 'asyncpg', '--replicas', '4', ...reader]);
    expect(app.exitCode, app.json.error?.message ?? app.stderr).toBe(0);
    expect(app.json.result.maxConnections).toBe(413);
    expect(app.json.result.maxConnectionsFrom).toContain('k8s: statefulset/postgres@sentinel');
    // --replicas given: it wins over the cluster's.
    expect([app.json.result.replicas, app.json.result.replicasFrom]).toEqual([4, '--replicas']);
    // floor(413 × 0.8 / 4) = 82 per replica (Jackdaw guide "6. Connection Pool Tuning > asyncpg").
    expect(app.json.result.settings).toContainEqual({ setting: 'max_size', value: 82 });
    const check = await cliJson<CheckJson>(['tune', 'check', ...reader]);
    expect(check.exitCode, check.json.error?.message ?? check.stderr).toBe(0);
    expect(check.json.result.errors).toBe(0);
    expect(check.json.result.drift).toBeUndefined();
    expect(check.json.result.cluster).toEqual({
      context: 'sentinel-test',
      server: cluster.server,
      namespace: NS,
    });
    // Git and the cluster agree: no drift, and the check passes.
    const same = await cliJson<CheckJson>(['tune', 'check', ...reader, '--manifests', git]);
    expect(same.exitCode, same.json.error?.message ?? same.stderr).toBe(0);
    expect(same.json.result.drift).toEqual([]);
    expect(await versions()).toEqual(before);
  });

  test('tune app-pool --k8s reads the replicas from the API Deployment (its HPA peak), or from the one --api-workload names', async () => {
    type AppPool = {
      replicas: number;
      replicasFrom: string;
      maxConnections: number;
      settings: Array<{ setting: string; value: number }>;
    };
    const peak = await cliJson<AppPool>(['tune', 'app-pool', '--client', 'asyncpg', ...reader]);
    expect(peak.exitCode, peak.json.error?.message ?? peak.stderr).toBe(0);
    // The prod set's api Deployment runs 3 replicas under an HPA of at most 10: the pools must fit the peak.
    expect(peak.json.result.replicas).toBe(10);
    expect(peak.json.result.replicasFrom).toBe(
      'k8s: horizontalpodautoscaler/api@sentinel spec.maxReplicas (peak; deployment/api@sentinel spec.replicas is 3)',
    );
    // floor(413 × 0.8 / 10) = 33 per replica (Jackdaw guide "6. Connection Pool Tuning > asyncpg").
    expect(peak.json.result.settings).toContainEqual({ setting: 'max_size', value: 33 });

    // Another service's Deployment (SARK's), named with --api-workload; no HPA scales it.
    const sark = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sark', namespace: NS },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: 'sark' } },
        template: {
          metadata: { labels: { app: 'sark' } },
          spec: { containers: [{ name: 'sark', image: 'registry.example/sark:1' }] },
        },
      },
    };
    expect((await api('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, sark)).status).toBe(201);
    try {
      const before = await versions();
      const sarkPool = ['tune', 'app-pool', '--client', 'sqlalchemy', '--api-workload', 'sark', ...reader];
      const named = await cliJson<AppPool>(sarkPool);
      expect(named.exitCode, named.json.error?.message ?? named.stderr).toBe(0);
      expect([named.json.result.replicas, named.json.result.replicasFrom]).toEqual([
        6,
        'k8s: deployment/sark@sentinel spec.replicas',
      ]);
      // 4–10 pods: pool_size 15 (SARK guide "Database Optimization > Connection Pooling").
      expect(named.json.result.settings).toContainEqual({ setting: 'pool_size', value: 15 });
      const text = await cli(sarkPool);
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stderr.replace(/\s+/g, ' ')).toContain(
        '6 replicas from deployment/sark@sentinel spec.replicas',
      );
      // --replicas still wins.
      const given = await cliJson<AppPool>([...sarkPool, '--replicas', '2']);
      expect([given.json.result.replicas, given.json.result.replicasFrom]).toEqual([2, '--replicas']);
      const missing = await cliJson([
        'tune',
        'app-pool',
        '--client',
        'sqlalchemy',
        '--api-workload',
        'nope',
        ...reader,
      ]);
      expect(missing.exitCode).toBe(2);
      expect(missing.json.error?.message).toBe(
        `--api-workload nope: no Deployment or StatefulSet of that name in namespace ${NS} of context "sentinel-test" (${cluster.server}).`,
      );
      expect(await versions()).toEqual(before);
    } finally {
      await api('DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/sark`);
    }
    // In a namespace without an API Deployment, and without --k8s: --replicas is asked for (exit 2).
    const none = await cliJson([
      'tune',
      'app-pool',
      '--client',
      'asyncpg',
      ...['--k8s', '--kubeconfig', cluster.kubeconfig, '-n', 'empty'],
    ]);
    expect(none.exitCode).toBe(2);
    expect(none.json.error?.message).toBe(
      'No API Deployment (a Deployment named like "api") in namespace empty of context "sentinel-test" to read the replicas from.',
    );
    const plain = await cli(['tune', 'app-pool', '--client', 'asyncpg', '--max-connections', '100']);
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toContain('Error: --replicas is required without --k8s.');
    expect(plain.stderr).toContain('Hint: ');
  });

  test('without the right to list Secrets and Nodes: a warning naming each missing permission, and the rest of the facts', async () => {
    const r = await cliJson<TuneResult>(['tune', 'pool', ...noSecrets]);
    expect(r.exitCode, r.json.error?.message ?? r.stderr).toBe(0);
    const warnings = r.json.warnings.join('\n');
    expect(warnings).toContain('not allowed to list secrets in namespace sentinel');
    expect(warnings).toContain('missing permission: list secrets');
    expect(warnings).toContain('missing permission: list nodes, cluster-wide');
    expect(fact(r.json.result.facts, 'worker.poolSize')?.from).toBe('k8s');
    // What only the Secrets held is not known.
    expect(fact(r.json.result.facts, 'api.poolMaxConns')).toBeUndefined();
    expect(r.json.result.facts.some((f) => f.name.startsWith('node.'))).toBe(false);
    const text = await cli(['tune', 'pool', ...noSecrets]);
    expect(text.exitCode).toBe(0);
    expect(text.stderr).toContain('missing permission: list secrets');
  });

  test('a worker without resources is sized for the smallest node, not for the machine tune runs on', async () => {
    expect((await api('POST', '/api/v1/namespaces', { metadata: { name: 'bare' } })).status).toBe(201);
    const worker = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'worker', namespace: 'bare' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'worker' } },
        template: {
          metadata: { labels: { app: 'worker' } },
          spec: {
            containers: [
              {
                name: 'worker',
                image: 'registry.example/worker:1',
                env: [{ name: 'WORKER_POOL_SIZE', value: '4' }],
              },
            ],
          },
        },
      },
    };
    expect((await api('POST', '/apis/apps/v1/namespaces/bare/deployments', worker)).status).toBe(201);
    const admin = ['--k8s', '--kubeconfig', cluster.kubeconfig, '-n', 'bare'];
    const r = await cliJson<TuneResult>(['tune', 'pool', ...admin]);
    expect(r.exitCode, r.json.error?.message ?? r.stderr).toBe(0);
    // node-a (4 CPU, 16Gi) is the smaller of the two nodes; this machine plays no part.
    expect(fact(r.json.result.facts, 'worker.cpuMillicores')).toMatchObject({
      value: '4 cores',
      from: 'k8s',
      detail: 'node/node-a status.allocatable.cpu (the smallest of 2 nodes)',
    });
    expect(fact(r.json.result.facts, 'worker.memoryBytes')).toMatchObject({
      from: 'k8s',
      detail: 'node/node-a status.allocatable.memory (the smallest of 2 nodes)',
    });
    const text = await cli(['tune', 'pool', ...admin]);
    expect(text.stderr.replace(/\s+/g, ' ')).toContain(
      "deployment/worker@bare container worker sets no cpu limit or request; sized for the smallest node's allocatable cpu 4 (its pods may run on any node, and share it)",
    );
    expect(text.stderr).not.toContain('the machine sentinel-ctl runs on');
  });
});

describe('tune check --k8s --manifests: drift between Git and the cluster', () => {
  test('replicas changed live, a ConfigMap key changed, a Secret changed, an object only in Git, one only in the cluster', async () => {
    expect(
      (await merge(`/apis/apps/v1/namespaces/${NS}/deployments/api`, { spec: { replicas: 5 } })).status,
    ).toBe(200);
    expect(
      (await merge(`/api/v1/namespaces/${NS}/configmaps/worker-config`, { data: { WORKER_POOL_SIZE: '9' } }))
        .status,
    ).toBe(200);
    const args = await api(
      'PATCH',
      `/apis/apps/v1/namespaces/${NS}/statefulsets/postgres`,
      [{ op: 'replace', path: '/spec/template/spec/containers/0/args/1', value: 'max_connections=300' }],
      'application/json-patch+json',
    );
    expect(args.status).toBe(200);
    const changed = Buffer.from(
      `postgres://sentinel:another-${PASSWORD}@postgres.sentinel.svc:5432/sentinel?sslmode=disable&pool_max_conns=30&pool_min_conns=5`,
    ).toString('base64');
    expect(
      (await merge(`/api/v1/namespaces/${NS}/secrets/api-secrets`, { data: { DATABASE_URL: changed } }))
        .status,
    ).toBe(200);
    expect(
      (
        await api('POST', `/api/v1/namespaces/${NS}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'hand-made' },
          data: { NOTE: 'made with kubectl' },
        })
      ).status,
    ).toBe(201);
    writeFileSync(
      path.join(git, '11-extra.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-git\n  namespace: sentinel\ndata:\n  A: "1"\n',
    );
    const kustomization = path.join(git, 'kustomization.yaml');
    const k = readFileSync(kustomization, 'utf8');
    writeFileSync(
      kustomization,
      k.replace('  - 10-networkpolicies.yaml\n', '  - 10-networkpolicies.yaml\n  - 11-extra.yaml\n'),
    );
    try {
      const before = await versions();
      const r = await cliJson<CheckJson>(['tune', 'check', ...reader, '--manifests', git]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.json.error?.code).toBe('DRIFT');
      expect(r.json.error?.message).toContain('namespace sentinel of context "sentinel-test"');
      // The cluster's max_connections 300 is too low for its pools: the checks run on the cluster's facts.
      expect(r.json.error?.message).toContain('contradiction(s)');
      const drift = r.json.result?.drift ?? [];
      const find = (object: string, field?: string) =>
        drift.find((d) => d.object === object && (field === undefined || d.field === field));
      expect(find('Deployment/api', 'spec.replicas')).toMatchObject({
        kind: 'field',
        git: '3',
        cluster: '5',
      });
      expect(find('Deployment/api', 'spec.replicas')?.recommends).toBeUndefined();
      expect(find('ConfigMap/worker-config', 'data.WORKER_POOL_SIZE')).toMatchObject({
        git: '4',
        cluster: '9',
        // The pod's 4 cores and 8Gi make a pool of 4: Git holds tune's value.
        recommends: 'git',
        setting: 'WORKER_POOL_SIZE (worker)',
        recommended: '4',
      });
      expect(find('StatefulSet/postgres', 'spec.template.spec.containers[postgres].args')).toMatchObject({
        git: '-c max_connections=413 -c superuser_reserved_connections=3',
        cluster: '-c max_connections=300 -c superuser_reserved_connections=3',
        recommends: 'git',
        setting: 'max_connections (postgresql)',
        recommended: '413',
      });
      const secret = find('Secret/api-secrets', 'data.DATABASE_URL');
      expect(secret?.git).toContain('pool_max_conns=20');
      expect(secret?.cluster).toContain('pool_max_conns=30');
      expect(secret?.recommends).toBe('git');
      expect(JSON.stringify(drift)).not.toContain(PASSWORD);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(find('ConfigMap/only-in-git')?.kind).toBe('only-in-git');
      expect(find('ConfigMap/hand-made')?.kind).toBe('only-in-cluster');
      // Nothing else differs: server defaults and controller-made objects are not drift.
      expect(drift.map((d) => `${d.object} ${d.field ?? d.kind}`).sort()).toEqual(
        [
          'ConfigMap/hand-made only-in-cluster',
          'ConfigMap/only-in-git only-in-git',
          'ConfigMap/worker-config data.WORKER_POOL_SIZE',
          'Deployment/api spec.replicas',
          'Secret/api-secrets data.DATABASE_URL',
          'StatefulSet/postgres spec.template.spec.containers[postgres].args',
        ].sort(),
      );

      const text = await cli(['tune', 'check', ...reader, '--manifests', git], { env: { COLUMNS: '200' } });
      expect(text.exitCode).toBe(1);
      expect(text.stdout).toContain(`Drift between ${git} and namespace sentinel of context "sentinel-test"`);
      expect(text.stdout).toMatch(/ConfigMap\/worker-config\s+data\.WORKER_POOL_SIZE\s+4\s+9\s+Git \(4\)/);
      expect(text.stdout).toMatch(/Deployment\/api\s+spec\.replicas\s+3\s+5\s+-/);
      expect(text.stdout).not.toContain(PASSWORD);
      expect(text.stderr).toContain('Hint:');
      expect(await versions()).toEqual(before);
    } finally {
      writeFileSync(kustomization, k);
      rmSync(path.join(git, '11-extra.yaml'));
    }
  });

  test('--write with --k8s alone is refused (exit 2, with a hint); with --manifests it writes the files and not the cluster', async () => {
    const before = await versions();
    for (const mode of ['--write', '--dry-run']) {
      const r = await cliJson(['tune', 'pool', ...reader, mode]);
      expect(r.exitCode).toBe(2);
      expect(r.json.error?.message).toContain(
        `${mode} with --k8s alone is refused: tune never edits the cluster`,
      );
      expect((r.json.error as { suggestion?: string } | undefined)?.suggestion).toContain('--manifests DIR');
    }
    const plain = await cli(['tune', 'pool', ...reader, '--write']);
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toContain('Hint: Pass --manifests DIR');

    // The cluster runs WORKER_POOL_SIZE 9 (changed above), Git says 7: the recommendation, 4, is
    // written to Git.
    const workerConfig = path.join(git, '02-configmaps.yaml');
    const original = readFileSync(workerConfig, 'utf8');
    writeFileSync(workerConfig, original.replace('WORKER_POOL_SIZE: "4"', 'WORKER_POOL_SIZE: "7"'));
    const w = await cliJson<TuneResult>(['tune', 'pool', ...reader, '--manifests', git, '--write']);
    expect(w.exitCode, w.json.error?.message ?? w.stderr).toBe(0);
    expect(fact(w.json.result.facts, 'worker.poolSize')).toMatchObject({ value: '9', from: 'k8s' });
    // The Git value is listed, not used: the cluster's comes first.
    expect(w.json.result.facts.find((f) => f.name === 'worker.poolSize' && !f.used)?.value).toBe('7');
    expect(w.json.result.write?.written).toEqual([path.relative(repoRoot, workerConfig)]);
    expect(readFileSync(workerConfig, 'utf8')).toBe(original);
    expect(await versions()).toEqual(before);
  });
});

describe('cluster access errors', () => {
  test('an unreachable cluster is exit 3, naming the context and the server', async () => {
    const file = path.join(work, 'unreachable');
    writeFileSync(
      file,
      kubeconfigYaml({
        server: 'https://127.0.0.1:1',
        ca: readFileSync(path.join(cluster.dir, 'ca.crt'), 'utf8'),
        token: 'x',
        user: 'x',
        context: 'far-away',
      }),
    );
    const r = await cliJson(['tune', 'check', '--k8s', '--kubeconfig', file, '--manifests', git]);
    expect(r.exitCode).toBe(3);
    expect(r.json.error?.message).toContain('context "far-away" (https://127.0.0.1:1)');
  });

  test('--context without --k8s is a usage error (exit 2)', async () => {
    const r = await cli(['tune', 'pool', '--context', 'x']);
    expect(r.exitCode).toBe(2);
  });
});
