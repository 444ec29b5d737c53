/**
 * `up --k8s`, `status --k8s`, `down --k8s` and cluster access against a real kube-apiserver (with
 * etcd) that test/helpers/k8s.ts builds and starts. No kubelet and no controllers run: the tests
 * write the status a controller would through the status subresource.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { UpK8sResult } from '../../../src/k8s/commands.js';
import type { DownResult } from '../../../src/k8s/down.js';
import { cli, cliJson } from '../../helpers/cli.js';
import {
  adminRequest,
  kubeconfigYaml,
  readObjects,
  startTestCluster,
  type TestCluster,
} from '../../helpers/k8s.js';

let cluster: TestCluster;
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-k8s-apply-'));
const manifests = path.join(work, 'deploy');
const NS = 'sentinel';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    managedFields?: Array<{ manager: string }>;
  };
  [k: string]: unknown;
};

/** Plain REST as admin, for what the test itself writes and reads. */
const api = <T = Obj>(method: string, urlPath: string, body?: unknown, contentType = 'application/json') =>
  adminRequest<T>(cluster, method, urlPath, body, undefined, contentType);

const admin = () => ['--k8s', '--kubeconfig', cluster.kubeconfig];

function pathOf(o: { apiVersion: string; kind: string; name: string; namespace?: string }): string {
  const plural: Record<string, string> = {
    Namespace: 'namespaces',
    ConfigMap: 'configmaps',
    Secret: 'secrets',
    Service: 'services',
    ResourceQuota: 'resourcequotas',
    LimitRange: 'limitranges',
    ServiceAccount: 'serviceaccounts',
    Deployment: 'deployments',
    StatefulSet: 'statefulsets',
    HorizontalPodAutoscaler: 'horizontalpodautoscalers',
    Ingress: 'ingresses',
    NetworkPolicy: 'networkpolicies',
    ScaledObject: 'scaledobjects',
    TriggerAuthentication: 'triggerauthentications',
    Pod: 'pods',
    Event: 'events',
  };
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = o.namespace ? `/namespaces/${o.namespace}` : '';
  return `${base}${ns}/${plural[o.kind]}/${o.name}`;
}

beforeAll(async () => {
  // A cold build of kube-apiserver happens here when `npm test`'s pre-step did not run.
  cluster = await startTestCluster('k8s', ['reader', 'deployer']);
  const g = await cli(['generate', 'k8s', '--profile', 'dev', '--out', manifests]);
  expect(g.exitCode, g.stderr).toBe(0);
  const secrets = path.join(manifests, '01-secrets.yaml');
  writeFileSync(secrets, readFileSync(secrets, 'utf8').replaceAll('REPLACE_ME', 'test-only-secret'));
}, 3_600_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('cluster access', () => {
  test('a kubeconfig that is not YAML is exit 2, naming the file', async () => {
    const bad = path.join(work, 'bad-kubeconfig');
    writeFileSync(bad, 'clusters: [unclosed\n');
    const r = await cli(['status', '--k8s', '--kubeconfig', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toMatch(/^Hint: /m);
  });

  test('an empty kubeconfig, or one that is only a string, is exit 2 saying what is wrong', async () => {
    const cases = [
      ['', 'cannot be read: it is empty or not a kubeconfig'],
      ['just a string\n', 'has no current context'],
    ] as const;
    for (const [text, message] of cases) {
      const bad = path.join(work, 'empty-kubeconfig');
      writeFileSync(bad, text);
      const r = await cli(['status', '--k8s', '--kubeconfig', bad]);
      expect(r.exitCode).toBe(2);
      // The error is wrapped to the terminal's width: compare it as one line.
      const error = r.stderr.replace(/\s+/g, ' ');
      expect(error).toContain(bad);
      expect(error).toContain(message);
      expect(error).not.toContain('Cannot read properties');
    }
  });

  test('an unknown --context is exit 2 and lists the contexts there are', async () => {
    const r = await cli(['status', ...admin(), '--context', 'nope']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Context "nope" is not in the kubeconfig (sentinel-test)');
  });

  test('an unreachable server is exit 3, naming the context and the server', async () => {
    const file = path.join(work, 'unreachable');
    writeFileSync(
      file,
      kubeconfigYaml({
        server: 'https://127.0.0.1:1',
        ca: readFileSync(path.join(cluster.dir, 'ca.crt'), 'utf8'),
        token: 'x',
        user: 'u',
        context: 'far-away',
      }),
    );
    const r = await cliJson(['status', '--k8s', '--kubeconfig', file]);
    expect(r.exitCode).toBe(3);
    expect(r.json.error?.code).toBe('CLUSTER_UNREACHABLE');
    expect(r.json.error?.message).toContain('context "far-away" (https://127.0.0.1:1)');
  });

  test('a token the server does not know is exit 3 (credentials refused), with the context named', async () => {
    const file = path.join(work, 'wrong-token');
    writeFileSync(
      file,
      kubeconfigYaml({
        server: cluster.server,
        ca: readFileSync(path.join(cluster.dir, 'ca.crt'), 'utf8'),
        token: 'not-a-token',
        user: 'u',
        context: 'stale',
      }),
    );
    const r = await cliJson(['status', '--k8s', '--kubeconfig', file]);
    expect(r.exitCode).toBe(3);
    expect(r.json.error?.message).toContain(
      `context "stale" (${cluster.server}) refused the credentials (401`,
    );
  });

  test('KUBECONFIG is used when --kubeconfig is not given; nothing applied yet is said as such', async () => {
    const r = await cliJson<{ inventory: boolean; context: string; namespace: string }>(['status', '--k8s'], {
      env: { KUBECONFIG: cluster.kubeconfig },
    });
    expect(r.exitCode).toBe(0);
    expect(r.json.result).toMatchObject({ inventory: false, context: 'sentinel-test', namespace: NS });
  });
});

describe('up --k8s / status --k8s / down --k8s', () => {
  const versions = new Map<string, string>();

  test('the first apply creates every object with field manager sentinel-ctl and records them in the inventory', async () => {
    const r = await cliJson<UpK8sResult>(['up', ...admin(), '--manifests', manifests, '--no-wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    const objects = r.json.result.objects;
    // 38 objects in the files plus the nsjail ConfigMap of the configMapGenerator.
    expect(objects).toHaveLength(39);
    expect(new Set(objects.map((o) => o.action))).toEqual(new Set(['created']));
    expect(objects[0]).toMatchObject({ kind: 'Namespace', name: NS });

    const worker = await api<{
      spec: {
        template: {
          spec: {
            volumes: Array<{ name: string; configMap?: { name: string } }>;
            containers: Array<{ image: string }>;
          };
        };
      };
      metadata: Obj['metadata'];
    }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/worker`);
    expect(worker.status).toBe(200);
    expect(worker.body.metadata.managedFields?.map((m) => m.manager)).toEqual(['sentinel-ctl']);
    const nsjail = worker.body.spec.template.spec.volumes.find((v) => v.name === 'nsjail-config')!.configMap!
      .name;
    expect(nsjail).toMatch(/^nsjail-config-[a-z0-9]{10}$/);
    expect((await api('GET', `/api/v1/namespaces/${NS}/configmaps/${nsjail}`)).status).toBe(200);
    expect(worker.body.spec.template.spec.containers[0]!.image).toBe(
      'ghcr.io/harsh-bh/sentinel-worker:latest',
    );

    const inv = await api<{ data: { objects: string } }>(
      'GET',
      `/api/v1/namespaces/${NS}/configmaps/sentinel-ctl-inventory`,
    );
    const listed = JSON.parse(inv.body.data.objects) as Array<{
      kind: string;
      name: string;
      preexisting?: boolean;
    }>;
    expect(listed).toHaveLength(39);
    expect(listed.some((e) => e.preexisting)).toBe(false);
    for (const o of objects)
      versions.set(`${o.kind}/${o.name}`, (await api('GET', pathOf(o))).body.metadata.resourceVersion!);
    versions.set('inventory', (inv.body as unknown as Obj).metadata.resourceVersion!);
  });

  test('a second apply of the same set changes nothing: every object unchanged, no resourceVersion moves', async () => {
    const r = await cliJson<UpK8sResult>(['up', ...admin(), '--manifests', manifests, '--no-wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(new Set(r.json.result.objects.map((o) => o.action))).toEqual(new Set(['unchanged']));
    for (const o of r.json.result.objects) {
      expect((await api('GET', pathOf(o))).body.metadata.resourceVersion, `${o.kind}/${o.name}`).toBe(
        versions.get(`${o.kind}/${o.name}`),
      );
    }
    const inv = await api('GET', `/api/v1/namespaces/${NS}/configmaps/sentinel-ctl-inventory`);
    expect(inv.body.metadata.resourceVersion).toBe(versions.get('inventory'));
    const dry = await cli(['up', ...admin(), '--manifests', manifests, '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('No changes');
  });

  test('--dry-run after a manual change shows it as a diff, exits 1, and changes nothing', async () => {
    // Someone edits a value sentinel-ctl applied (an update by another field manager) and deletes a Service.
    const edit = await api(
      'PATCH',
      `/api/v1/namespaces/${NS}/configmaps/api-config?fieldManager=kubectl-edit`,
      { data: { API_RATE_LIMIT: '5' } },
      'application/merge-patch+json',
    );
    expect(edit.status).toBe(200);
    expect((await api('DELETE', `/api/v1/namespaces/${NS}/services/redis`)).status).toBe(200);

    const r = await cliJson<UpK8sResult>(['up', ...admin(), '--manifests', manifests, '--dry-run']);
    expect(r.exitCode).toBe(1);
    expect(r.json.error?.code).toBe('WOULD_CHANGE');
    const byName = (k: string, n: string) => r.json.result.objects.find((o) => o.kind === k && o.name === n)!;
    const cm = byName('ConfigMap', 'api-config');
    expect(cm.action).toBe('conflict');
    expect(cm.detail).toContain('kubectl-edit');
    expect(cm.diff).toContain('-  API_RATE_LIMIT: "5"');
    expect(cm.diff).toContain('+  API_RATE_LIMIT: "100"');
    expect(byName('Service', 'redis').action).toBe('would create');
    expect(r.json.result.objects.filter((o) => o.action === 'unchanged')).toHaveLength(37);
    // A dry run writes nothing.
    expect((await api('GET', `/api/v1/namespaces/${NS}/services/redis`)).status).toBe(404);
    expect(
      (await api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/configmaps/api-config`))
        .body.data.API_RATE_LIMIT,
    ).toBe('5');
  });

  test('an apply reports the conflict and leaves the field; --force-conflicts takes it back', async () => {
    const r = await cliJson<UpK8sResult>(['up', ...admin(), '--manifests', manifests, '--no-wait']);
    expect(r.exitCode).toBe(1);
    expect(r.json.error?.code).toBe('APPLY_CONFLICT');
    expect(r.json.error?.message).toContain('ConfigMap/api-config');
    expect(r.json.error?.message).toContain('kubectl-edit');
    expect(r.json.result.objects.find((o) => o.name === 'redis' && o.kind === 'Service')?.action).toBe(
      'created',
    );
    expect(
      (await api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/configmaps/api-config`))
        .body.data.API_RATE_LIMIT,
    ).toBe('5');

    const forced = await cliJson<UpK8sResult>([
      'up',
      ...admin(),
      '--manifests',
      manifests,
      '--no-wait',
      '--force-conflicts',
    ]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.json.result.objects.find((o) => o.name === 'api-config')?.action).toBe('configured');
    expect(
      (await api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/configmaps/api-config`))
        .body.data.API_RATE_LIMIT,
    ).toBe('100');
  });

  test('the rollout wait names what is not ready and why, then passes once the workloads report ready', async () => {
    // A worker pod as the kubelet would report it: crash-looping after an OOM kill, with its warning event.
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'worker-7d9f-abcde', namespace: NS, labels: { 'app.kubernetes.io/name': 'worker' } },
      spec: { containers: [{ name: 'worker', image: 'ghcr.io/harsh-bh/sentinel-worker:latest' }] },
    };
    expect((await api('POST', `/api/v1/namespaces/${NS}/pods`, pod)).status).toBe(201);
    const podStatus = {
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'worker',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 5,
            state: {
              waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' },
            },
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
    };
    expect(
      (
        await api(
          'PATCH',
          `/api/v1/namespaces/${NS}/pods/${pod.metadata.name}/status`,
          podStatus,
          'application/merge-patch+json',
        )
      ).status,
    ).toBe(200);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'worker-7d9f-abcde.backoff', namespace: NS },
      involvedObject: { kind: 'Pod', name: pod.metadata.name, namespace: NS },
      type: 'Warning',
      reason: 'BackOff',
      message: 'Back-off restarting failed container worker',
      count: 7,
    };
    expect((await api('POST', `/api/v1/namespaces/${NS}/events`, event)).status).toBe(201);

    const r = await cliJson<UpK8sResult>(['up', ...admin(), '--manifests', manifests, '--timeout', '2s']);
    expect(r.exitCode).toBe(1);
    expect(r.json.error?.code).toBe('ROLLOUT_TIMEOUT');
    const msg = r.json.error!.message;
    expect(msg).toContain('Deployment/worker 0/2 ready');
    expect(msg).toContain('worker CrashLoopBackOff (last exit: OOMKilled), 5 restarts');
    expect(msg).toContain(
      'event BackOff on Pod/worker-7d9f-abcde: Back-off restarting failed container worker (×7)',
    );
    expect(msg).toContain('StatefulSet/postgres 0/1 ready');
    expect(msg).toContain('no pods exist for its selector');
    const notReady = await cliJson<{ healthy: boolean }>(['status', ...admin(), '--check']);
    expect(notReady.exitCode).toBe(1);
    expect(notReady.json.error?.message).toContain('Deployment/worker');

    // What the controllers would write once every replica runs.
    for (const w of r.json.result.rollout!.workloads) {
      const live = (await api<Obj & { spec: { replicas?: number } }>('GET', pathOf(w))).body;
      const n = live.spec.replicas ?? 1;
      const status =
        w.kind === 'Deployment'
          ? {
              observedGeneration: live.metadata.generation,
              replicas: n,
              updatedReplicas: n,
              readyReplicas: n,
              availableReplicas: n,
            }
          : {
              observedGeneration: live.metadata.generation,
              replicas: n,
              updatedReplicas: n,
              readyReplicas: n,
              currentReplicas: n,
              currentRevision: 'r1',
              updateRevision: 'r1',
              availableReplicas: n,
            };
      expect(
        (await api('PATCH', `${pathOf(w)}/status`, { status }, 'application/merge-patch+json')).status,
      ).toBe(200);
    }
    const ok = await cliJson<UpK8sResult>(['up', ...admin(), '--manifests', manifests, '--timeout', '60s']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.json.result.rollout?.ready).toBe(true);
    expect(ok.json.result.rollout?.workloads.map((w) => w.progress)).toContain('1/1 ready');
    const healthy = await cliJson<{ healthy: boolean; objects: unknown[] }>([
      'status',
      ...admin(),
      '--check',
    ]);
    expect(healthy.exitCode, healthy.stderr).toBe(0);
    expect(healthy.json.result.objects).toHaveLength(39);
  });

  test('down deletes exactly what was applied: objects of others stay, and so does their namespace', async () => {
    const mine = await api<{ data: { objects: string } }>(
      'GET',
      `/api/v1/namespaces/${NS}/configmaps/sentinel-ctl-inventory`,
    );
    const applied = JSON.parse(mine.body.data.objects) as Array<{
      apiVersion: string;
      kind: string;
      name: string;
      namespace?: string;
    }>;
    // Someone else's objects: one in our namespace, one of the same name as ours elsewhere.
    const notes = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'team-notes', namespace: NS },
      data: { a: 'b' },
    };
    const twin = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'api-config', namespace: 'default' },
      data: { c: 'd' },
    };
    expect((await api('POST', `/api/v1/namespaces/${NS}/configmaps`, notes)).status).toBe(201);
    expect((await api('POST', '/api/v1/namespaces/default/configmaps', twin)).status).toBe(201);

    const r = await cliJson<DownResult>(['down', ...admin()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.result.objects.filter((o) => o.action === 'deleted')).toHaveLength(38);
    expect(r.json.result.objects.find((o) => o.kind === 'Namespace')).toMatchObject({ action: 'kept' });
    expect(r.json.warnings.join(' ')).toContain('ConfigMap/team-notes');
    for (const o of applied.filter((x) => x.kind !== 'Namespace')) {
      expect((await api('GET', pathOf(o))).status, `${o.kind}/${o.name}`).toBe(404);
    }
    expect((await api('GET', `/api/v1/namespaces/${NS}/configmaps/sentinel-ctl-inventory`)).status).toBe(404);
    // The pod and event the test made (as a kubelet would) are not ours either.
    expect((await api('GET', `/api/v1/namespaces/${NS}/configmaps/team-notes`)).status).toBe(200);
    expect((await api('GET', '/api/v1/namespaces/default/configmaps/api-config')).status).toBe(200);
    const ns = await api('GET', `/api/v1/namespaces/${NS}`);
    expect(ns.status).toBe(200);
    expect(ns.body.metadata.deletionTimestamp).toBeUndefined();

    const again = await cliJson<DownResult>(['down', ...admin()]);
    expect(again.exitCode).toBe(0);
    expect(again.json.result.inventory).toBe(false);
  });
});

describe('least privilege: the roles of rbac/sentinel-ctl.yaml, with RBAC on', () => {
  const TEAM = 'team-rbac';
  const teamManifests = path.join(work, 'team');
  let reader: string[];
  let deployer: string[];

  beforeAll(async () => {
    const g = await cli(['generate', 'k8s', '--profile', 'dev', '--namespace', TEAM, '--out', teamManifests]);
    expect(g.exitCode, g.stderr).toBe(0);
    const secrets = path.join(teamManifests, '01-secrets.yaml');
    writeFileSync(secrets, readFileSync(secrets, 'utf8').replaceAll('REPLACE_ME', 'test-only-secret'));
    // What a cluster admin does once: the namespace, the roles, and a binding per person.
    expect(
      (
        await api('POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: TEAM },
        })
      ).status,
    ).toBe(201);
    for (const o of readObjects(path.join(teamManifests, 'rbac/sentinel-ctl.yaml')))
      await cluster.api.create(o);
    const bind = async (user: string, role: string) => {
      const subjects = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }];
      await cluster.api.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: `${user}-${role}`, namespace: TEAM },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
        subjects,
      } as KubernetesObject);
      await cluster.api.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `${user}-${role}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects,
      } as KubernetesObject);
    };
    await bind('reader', 'sentinel-ctl-read');
    await bind('deployer', 'sentinel-ctl-deploy');
    reader = ['--k8s', '--kubeconfig', cluster.kubeconfigFor('reader'), '-n', TEAM];
    deployer = ['--k8s', '--kubeconfig', cluster.kubeconfigFor('deployer'), '-n', TEAM];
  });

  test('up with the read-only role refuses before changing anything, naming what is missing', async () => {
    for (const extra of [[], ['--dry-run']]) {
      const r = await cliJson(['up', ...reader, '--manifests', teamManifests, '--no-wait', ...extra]);
      expect(r.exitCode).toBe(3);
      expect(r.json.error?.code).toBe('FORBIDDEN');
      expect(r.json.error?.message).toContain('may not create configmaps in team-rbac');
      expect(r.json.error?.message).toContain('Nothing was changed');
      expect((r.json.error as { suggestion?: string } | undefined)?.suggestion).toContain(
        'sentinel-ctl-deploy',
      );
    }
    expect((await api('GET', `/api/v1/namespaces/${TEAM}/configmaps/sentinel-ctl-inventory`)).status).toBe(
      404,
    );
    expect((await api('GET', `/apis/apps/v1/namespaces/${TEAM}/deployments/worker`)).status).toBe(404);
  });

  test('the deploy role is enough to apply the whole generated set; the read role is enough for status', async () => {
    const r = await cliJson<UpK8sResult>(['up', ...deployer, '--manifests', teamManifests, '--no-wait']);
    expect(r.exitCode, r.json.error?.message ?? r.stderr).toBe(0);
    expect(r.json.result.objects.filter((o) => o.action === 'created')).toHaveLength(38);
    // The namespace the admin made was only configured, and is remembered as not ours.
    expect(r.json.result.objects.find((o) => o.kind === 'Namespace')?.action).toBe('configured');

    const s = await cliJson<{ inventory: boolean; objects: Array<{ kind: string; state: string }> }>([
      'status',
      ...reader,
    ]);
    expect(s.exitCode, s.json.error?.message ?? s.stderr).toBe(0);
    expect(s.json.result.inventory).toBe(true);
    expect(s.json.result.objects).toHaveLength(39);
    expect(s.json.result.objects.find((o) => o.kind === 'Deployment')?.state).toContain('0/');
  });

  test('diagnose --k8s runs with the read-only role', async () => {
    const r = await cliJson<{ facts: { deployments: number; statefulsets: number }; skipped: string[] }>([
      'diagnose',
      ...reader,
      '--no-data-plane',
    ]);
    expect(r.exitCode, r.json.error?.message ?? r.stderr).toBe(0);
    expect(r.json.result.facts).toMatchObject({ deployments: 2, statefulsets: 3 });
    expect(r.json.result.skipped).toEqual([]);
    // The data plane: the read role may use the service proxy; no pod runs here, so the API
    // server has no endpoint to send it to (not a 403).
    const d = await cliJson<{ dataPlane: { components: Record<string, { ok: boolean; error?: string }> } }>([
      'diagnose',
      ...reader,
    ]);
    expect(d.exitCode).toBe(1);
    expect(d.json.result.dataPlane.components.api?.error).toBe(
      'the API server\'s service proxy answered 503: no endpoints available for service "api"',
    );
  });

  test("down with the read-only role refuses; with the deploy role it removes the set and keeps the admin's namespace and roles", async () => {
    const refused = await cliJson(['down', ...reader]);
    expect(refused.exitCode).toBe(3);
    expect(refused.json.error?.message).toContain('may not delete');
    expect((await api('GET', `/apis/apps/v1/namespaces/${TEAM}/deployments/worker`)).status).toBe(200);

    const r = await cliJson<DownResult>(['down', ...deployer]);
    expect(r.exitCode, r.json.error?.message ?? r.stderr).toBe(0);
    expect(r.json.result.objects.filter((o) => o.action === 'deleted')).toHaveLength(38);
    expect(r.json.result.objects.find((o) => o.kind === 'Namespace')).toMatchObject({ action: 'kept' });
    expect((await api('GET', `/apis/apps/v1/namespaces/${TEAM}/deployments/worker`)).status).toBe(404);
    expect(
      (await api('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${TEAM}/roles/sentinel-ctl-read`))
        .status,
    ).toBe(200);
    expect((await api('GET', `/api/v1/namespaces/${TEAM}`)).body.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe('diagnose --k8s on pods, HPA, ScaledObject and events written as the kubelet and controllers would', () => {
  const DIAG = 'diag';
  const create = async (urlPath: string, body: Record<string, unknown>, status?: Record<string, unknown>) => {
    const r = await api('POST', urlPath, body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    if (status) {
      const name = (body.metadata as { name: string }).name;
      const s = await api('PATCH', `${urlPath}/${name}/status`, { status }, 'application/merge-patch+json');
      expect(s.status, JSON.stringify(s.body)).toBe(200);
    }
  };
  const pod = (name: string, app: string, resources: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: DIAG, labels: { app } },
    spec: { containers: [{ name: app, image: `${app}:1`, resources }] },
  });

  beforeAll(async () => {
    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DIAG } });
    const ns = `/api/v1/namespaces/${DIAG}`;
    await create(`${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'worker-config', namespace: DIAG },
      data: { WORKER_POOL_SIZE: '4', WORKER_DEFAULT_MEMORY_LIMIT_KB: '262144' },
    });
    await create(
      `/apis/apps/v1/namespaces/${DIAG}/deployments`,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'worker', namespace: DIAG },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app: 'worker' } },
          template: {
            metadata: { labels: { app: 'worker' } },
            spec: { containers: [{ name: 'worker', image: 'w:1' }] },
          },
        },
      },
      { replicas: 4, readyReplicas: 3 },
    );
    await create(
      `/apis/keda.sh/v1alpha1/namespaces/${DIAG}/scaledobjects`,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'worker', namespace: DIAG },
        spec: {
          scaleTargetRef: { name: 'worker' },
          minReplicaCount: 1,
          maxReplicaCount: 4,
          triggers: [{ type: 'rabbitmq', metadata: { queueName: 'execution_tasks' } }],
        },
      },
      {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Active', status: 'True' },
          {
            type: 'Fallback',
            status: 'True',
            reason: 'FallbackExists',
            message: 'At least one trigger is falling back on this scaled object',
          },
        ],
      },
    );
    await create(
      `/apis/autoscaling/v2/namespaces/${DIAG}/horizontalpodautoscalers`,
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'api', namespace: DIAG },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
          minReplicas: 1,
          maxReplicas: 3,
        },
      },
      { currentReplicas: 3, desiredReplicas: 5 },
    );
    for (const name of ['worker-a', 'worker-b'])
      await create(`${ns}/pods`, pod(name, 'worker', { limits: { memory: '512Mi' } }), {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'worker',
            image: 'w:1',
            imageID: '',
            ready: true,
            restartCount: 2,
            state: { running: {} },
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      });
    await create(`${ns}/pods`, pod('api-b', 'api', {}), {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'api',
          image: 'a:1',
          imageID: '',
          ready: false,
          restartCount: 6,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason: 'Error', exitCode: 1 } },
        },
      ],
    });
    await create(`${ns}/pods`, pod('postgres-0', 'postgres', { requests: { memory: '4Gi', cpu: '2' } }), {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory.',
        },
      ],
    });
    await create(`${ns}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'api-b.backoff', namespace: DIAG },
      involvedObject: { kind: 'Pod', name: 'api-b', namespace: DIAG },
      type: 'Warning',
      reason: 'BackOff',
      message: 'Back-off restarting failed container api',
      count: 12,
    });
  });

  test('each fault is a finding with its evidence; a critical one makes the exit code 1', async () => {
    type F = { id: string; severity: string; object: string; detail: string; source: { section: string } };
    const r = await cliJson<{ findings: F[] }>(['diagnose', ...admin(), '-n', DIAG]);
    expect(r.exitCode).toBe(1);
    expect(r.json.error?.code).toBe('CRITICAL_FINDINGS');
    const find = (id: string) => r.json.result.findings.find((f) => f.id === id);
    // Two OOM-killed workers are one finding.
    expect(r.json.result.findings.filter((f) => f.id === 'pod-oom-killed')).toHaveLength(1);
    expect(find('pod-oom-killed')).toMatchObject({
      severity: 'critical',
      object: 'Pod/worker-a and 1 more worker pod',
    });
    expect(find('pod-oom-killed')?.detail).toContain('(2 pods alike)');
    expect(find('pod-oom-killed')?.detail).toContain(
      'memory limit 512Mi, while WORKER_POOL_SIZE 4 × 256Mi per sandbox = 1024Mi does not fit',
    );
    expect(find('pod-crash-loop')?.detail).toBe(
      'api CrashLoopBackOff after 6 restarts; last exit: Error (code 1).',
    );
    expect(find('pod-pending')?.detail).toContain(
      'Unschedulable: 0/3 nodes are available: 3 Insufficient memory.',
    );
    expect(find('pod-pending')?.detail).toContain('memory=4Gi');
    expect(find('hpa-at-max')?.detail).toBe(
      '3 replicas = maxReplicas 3: the HPA cannot add more (it wants 5).',
    );
    expect(find('keda-fallback')?.severity).toBe('warning');
    expect(find('keda-at-max')?.detail).toContain(
      'at most 4 × 4 = 16 executions at once, and the trigger is still active',
    );
    expect(find('keda-at-max')?.source.section).toBe('KEDA Auto-Scaling > Calculating Max Workers');
    expect(find('warning-events')).toMatchObject({ severity: 'warning', object: 'Pod/api-b' });
    expect(find('keda-not-ready')).toBeUndefined();
  });
});
