/**
 * `bench --k8s --shards N` against a real kube-apiserver (test/helpers/k8s.ts). No kubelet and no
 * Job controller run there, so no pods appear: the test reads the Job the coordinator created and
 * runs its pod command as N local processes with what a kubelet would give them (runAsPod: the
 * container's args and env, JOB_COMPLETION_INDEX, KUBERNETES_SERVICE_HOST/PORT and the
 * ServiceAccount's real token mounted at /var/run/secrets/kubernetes.io/serviceaccount). The shards
 * load a real HTTP server of the test and store their reports in ConfigMaps through the Role the
 * coordinator created; the coordinator merges them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { benchAccessNeeds } from '../../../src/bench/k8s.js';
import { cli, cliProcess } from '../../helpers/cli.js';
import {
  adminRequest,
  kubeconfigYaml,
  type PodContainer,
  podCommand,
  readObjects,
  runAsPod,
  serviceAccountToken,
  startTestCluster,
  type TestCluster,
  waitFor,
} from '../../helpers/k8s.js';
import { startHttpServer, type TestServer } from '../bench/helpers/servers.js';

const NS = 'loadtest';
const RUN_LABEL = 'sentinel-ctl/bench-run';
let cluster: TestCluster;
let server: TestServer;
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-k8s-bench-'));

beforeAll(async () => {
  cluster = await startTestCluster('k8sBench', ['viewer']);
  const ns = await adminRequest(cluster, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS },
  });
  expect(ns.status).toBe(201);
  // The roles `generate k8s` writes for this namespace, applied as a cluster admin would.
  const out = path.join(work, 'generated');
  const g = await cli(['generate', 'k8s', '--profile', 'dev', '--namespace', NS, '--out', out]);
  expect(g.exitCode, g.stderr).toBe(0);
  for (const o of readObjects(path.join(out, 'rbac/sentinel-ctl.yaml'))) await cluster.api.create(o);
  server = await startHttpServer({ latencyMs: 2 });
}, 600_000);
afterAll(async () => {
  await server?.close();
  await cluster?.stop();
});

type Job = {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: {
      spec: {
        serviceAccountName: string;
        restartPolicy: string;
        containers: Array<PodContainer & { image: string }>;
      };
    };
  };
};

function coordinator(args: string[], json = true, env: Record<string, string> = {}): ResultPromise {
  const k8s = ['--k8s', '--kubeconfig', cluster.kubeconfig, '-n', NS];
  return cliProcess(['bench', ...args, ...k8s, ...(json ? ['--json'] : [])], { env });
}

/** The Job of the one run in flight, once the coordinator created it. */
async function runningJob(): Promise<Job> {
  let job: Job | undefined;
  await waitFor(async () => {
    const r = await adminRequest<{ items: Job[] }>(
      cluster,
      'GET',
      `/apis/batch/v1/namespaces/${NS}/jobs?labelSelector=${RUN_LABEL}`,
    );
    job = r.body.items[0];
    return Boolean(job);
  }, 'the Job of bench --k8s');
  return job!;
}

/** Shard `index` (0-based completion index) as its pod would run. */
async function shard(job: Job, index: number) {
  const pod = job.spec.template.spec;
  const { args, env } = await podCommand(cluster, NS, pod.containers[0]!, {
    JOB_COMPLETION_INDEX: String(index),
  });
  return runAsPod(cluster, { namespace: NS, serviceAccount: pod.serviceAccountName, args, env });
}

/** Every object of the run that is still in the namespace. */
async function leftovers(runId: string): Promise<string[]> {
  const out: string[] = [];
  for (const [kind, base] of [
    ['Job', `/apis/batch/v1/namespaces/${NS}/jobs`],
    ['Pod', `/api/v1/namespaces/${NS}/pods`],
    ['ServiceAccount', `/api/v1/namespaces/${NS}/serviceaccounts`],
    ['Role', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`],
    ['RoleBinding', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`],
    ['ConfigMap', `/api/v1/namespaces/${NS}/configmaps`],
    ['Secret', `/api/v1/namespaces/${NS}/secrets`],
  ] as const) {
    const r = await adminRequest<{
      items: Array<{ metadata: { name: string; labels?: Record<string, string> } }>;
    }>(cluster, 'GET', base);
    for (const o of r.body.items)
      if (o.metadata.name.includes(runId) || o.metadata.labels?.[RUN_LABEL] === runId)
        out.push(`${kind}/${o.metadata.name}`);
  }
  return out;
}

/** A target that counts the requests carrying `Bearer <token>` (a scenario's ${env.NAME} header). */
async function tokenServer(token: string) {
  let authorized = 0;
  const http = await import('node:http');
  const target = http.createServer((req, res) => {
    if (req.headers.authorization === `Bearer ${token}`) authorized += 1;
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(target.address() as import('node:net').AddressInfo).port}`,
    authorized: () => authorized,
    close: () => new Promise((r) => target.close(r)),
  };
}

test('2 shards as an Indexed Job: merged counts, thresholds on merged data, --assert, RBAC, cleanup', async () => {
  const RATE = 100;
  const SECONDS = 4;
  const total = RATE * SECONDS;
  const merged = path.join(work, 'merged.json');
  const run = coordinator([
    server.url,
    '--rate',
    String(RATE),
    '-d',
    `${SECONDS}s`,
    '--shards',
    '2',
    '--start-at',
    '+25s',
    '--image',
    'registry.example/sentinel-ctl:test',
    // Each shard runs half the arrivals: only the merged count reaches the total.
    '-t',
    `http_reqs:count>=${total}`,
    '-t',
    `http_reqs:count>${total}`,
    '--assert',
    '--out',
    `json=${merged}`,
  ]);
  const job = await runningJob();
  const runId = job.metadata.labels[RUN_LABEL]!;
  const name = `sentinel-bench-${runId}`;
  expect(job.metadata.name).toBe(name);
  expect([
    job.spec.completionMode,
    job.spec.completions,
    job.spec.parallelism,
    job.spec.backoffLimit,
  ]).toEqual(['Indexed', 2, 2, 0]);
  expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(25);
  const pod = job.spec.template.spec;
  expect([pod.serviceAccountName, pod.restartPolicy]).toEqual([name, 'Never']);
  const c = pod.containers[0]!;
  expect(c.image).toBe('registry.example/sentinel-ctl:test');
  expect(c.command).toEqual(['sentinel-ctl']);
  // The test's flags are forwarded; --assert and --out stay with the coordinator.
  const args = c.args!;
  expect(args.slice(0, 6)).toEqual([
    'bench',
    server.url,
    '--rate',
    String(RATE),
    '--duration',
    `${SECONDS}s`,
  ]);
  expect(args).toEqual(expect.arrayContaining(['--shards', '2', '--k8s-shard', runId, '--start-at']));
  expect(args.filter((a) => a === '--threshold')).toHaveLength(2);
  expect(args).not.toContain('--assert');
  expect(args.some((a) => a.startsWith('json='))).toBe(false);

  // RBAC: the ServiceAccount may create ConfigMaps and update its own reports, nothing more.
  const role = await adminRequest<{
    rules: Array<{ verbs: string[]; resources: string[]; resourceNames?: string[] }>;
  }>(cluster, 'GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/${name}`);
  expect(role.body.rules).toEqual([
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    {
      apiGroups: [''],
      resources: ['configmaps'],
      verbs: ['update'],
      resourceNames: [`${name}-1`, `${name}-2`],
    },
  ]);
  const token = await serviceAccountToken(cluster, NS, name);
  const as = (method: string, p: string, body?: unknown) => adminRequest(cluster, method, p, body, token);
  const denied = await Promise.all([
    as('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/${name}`),
    as('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${name}`),
    as('GET', `/api/v1/namespaces/${NS}/configmaps`),
    as('GET', `/api/v1/namespaces/${NS}/secrets`),
    as('DELETE', `/api/v1/namespaces/${NS}/configmaps/${name}-1`),
    as('PUT', `/api/v1/namespaces/${NS}/configmaps/other`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'other' },
    }),
    as('POST', `/api/v1/namespaces/default/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    }),
  ]);
  expect(denied.map((d) => d.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);

  const shards = await Promise.all([shard(job, 0), shard(job, 1)]);
  for (const s of shards) expect(s.exitCode, `${s.stdout}\n${s.stderr}`).toBe(0);
  expect(String(shards[0]!.stderr)).toMatch(
    /Stored the report of shard 1\/2 in ConfigMap sentinel-bench-\w+-1/,
  );
  expect(String(shards[1]!.stderr)).toMatch(/shard 2\/2 in ConfigMap sentinel-bench-\w+-2/);

  const r = await run;
  expect(r.exitCode, String(r.stderr)).toBe(1);
  const doc = JSON.parse(String(r.stdout)) as {
    error: { code: string; message: string };
    warnings: string[];
    result: {
      k8s: { runId: string; namespace: string; shards: number; kept: string[] };
      shards: Array<{ index: number; count: number }>;
      requests: Array<{ name: string; requests: number; failed: number }>;
      thresholds: Array<{ expression: string; observed: number; pass: boolean }>;
    };
  };
  expect(doc.error.code).toBe('THRESHOLDS_FAILED');
  // The test's server is on loopback, which in a real pod would be the pod itself: said once.
  expect(doc.warnings.filter((w) => w.includes('is a loopback address'))).toHaveLength(1);
  const m = doc.result;
  expect(m.k8s).toMatchObject({ runId, namespace: NS, shards: 2, kept: [] });
  expect(m.shards.map((s) => [s.index, s.count])).toEqual([
    [1, 2],
    [2, 2],
  ]);
  expect(m.requests.at(-1)).toMatchObject({ requests: total, failed: 0 });
  expect(server.count()).toBe(total);
  expect(m.thresholds.map((t) => [t.expression, t.observed, t.pass])).toEqual([
    [`count>=${total}`, total, true],
    [`count>${total}`, total, false],
  ]);
  // The merged report was written where the coordinator runs.
  expect(JSON.parse(readFileSync(merged, 'utf8')).requests.at(-1).requests).toBe(total);

  // Cleanup: nothing of the run is left, and the ServiceAccount's token no longer works.
  expect(await leftovers(runId)).toEqual([]);
  expect(
    (await as('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: 'late' } })).status,
  ).toBe(401);
});

test('a shard that never reports: the timeout names it and why (pod waiting reason, events), and cleans up', async () => {
  const run = coordinator([
    server.url,
    '--rate',
    '20',
    '-d',
    '1s',
    '--shards',
    '2',
    '--start-at',
    '+20s',
    '--graceful-stop',
    '0s',
    '--wait-timeout',
    '15s',
  ]);
  const job = await runningJob();
  const runId = job.metadata.labels[RUN_LABEL]!;
  // What a kubelet would have written for shard 2's pod: an image it cannot pull.
  const podName = `${job.metadata.name}-1-abcde`;
  const created = await adminRequest(cluster, 'POST', `/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      labels: {
        'batch.kubernetes.io/job-name': job.metadata.name,
        'batch.kubernetes.io/job-completion-index': '1',
      },
    },
    spec: { containers: [{ name: 'shard', image: 'registry.example/sentinel-ctl:test' }] },
  });
  expect(created.status).toBe(201);
  const status = await adminRequest(
    cluster,
    'PATCH',
    `/api/v1/namespaces/${NS}/pods/${podName}/status`,
    {
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'shard',
            image: 'registry.example/sentinel-ctl:test',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
          },
        ],
      },
    },
    undefined,
    'application/merge-patch+json',
  );
  expect(status.status).toBe(200);
  await adminRequest(cluster, 'POST', `/api/v1/namespaces/${NS}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${podName}.1` },
    involvedObject: { kind: 'Pod', name: podName, namespace: NS },
    type: 'Warning',
    reason: 'Failed',
    message: 'pull access denied for registry.example/sentinel-ctl',
    firstTimestamp: new Date().toISOString(),
    lastTimestamp: new Date().toISOString(),
  });
  const one = await shard(job, 0);
  expect(one.exitCode, String(one.stderr)).toBe(0);
  const r = await run;
  expect(r.exitCode, String(r.stderr)).toBe(3);
  const doc = JSON.parse(String(r.stdout)) as { error: { code: string; message: string } };
  expect(doc.error.code).toBe('SHARDS_TIMEOUT');
  expect(doc.error.message).toContain('No report from 1 of 2 shards');
  expect(doc.error.message).toContain(
    `shard 2: pod ${podName} ImagePullBackOff (Back-off pulling image) (events: Failed: pull access denied for registry.example/sentinel-ctl)`,
  );
  expect(doc.error.message).not.toMatch(/shard 1:/);
  expect(await leftovers(runId)).toEqual([]);
});

test('a scenario file travels to the pods, its env.NAME values in a Secret that is deleted with the run', async () => {
  const token = 'tok-1234';
  const target = await tokenServer(token);
  const base = target.url;
  const file = path.join(work, 'two-names.yaml');
  writeFileSync(
    file,
    [
      'name: two-names',
      `baseUrl: ${base}`,
      'headers:',
      `  Authorization: Bearer \${env.BENCH_TOKEN}`,
      'requests:',
      '  - name: reads',
      '    weight: 3',
      '    path: /read',
      '  - name: writes',
      '    weight: 1',
      '    method: POST',
      '    path: /write',
      '    json: {a: 1}',
      '',
    ].join('\n'),
  );
  try {
    const run = coordinator(
      ['--scenario', file, '--rate', '40', '-d', '2s', '--shards', '2', '--start-at', '+20s'],
      true,
      { BENCH_TOKEN: token },
    );
    const job = await runningJob();
    const runId = job.metadata.labels[RUN_LABEL]!;
    const c = job.spec.template.spec.containers[0]!;
    expect(c.args).not.toContain('--scenario');
    expect(JSON.stringify(job)).not.toContain(token);
    expect(c.env).toContainEqual({
      name: 'BENCH_TOKEN',
      valueFrom: { secretKeyRef: { name: job.metadata.name, key: 'BENCH_TOKEN' } },
    });
    const shards = await Promise.all([shard(job, 0), shard(job, 1)]);
    for (const s of shards) expect(s.exitCode, String(s.stderr)).toBe(0);
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const m = JSON.parse(String(r.stdout)).result as {
      scenario: { name: string };
      requests: Array<{ name: string; requests: number }>;
    };
    expect(m.scenario.name).toBe('two-names');
    expect(m.requests.map((x) => x.name)).toEqual(['reads', 'writes', '*']);
    expect(m.requests.at(-1)!.requests).toBe(80);
    expect(target.authorized()).toBe(80);
    // The Secret of the env values too.
    expect(await leftovers(runId)).toEqual([]);
  } finally {
    await target.close();
  }
});

test('a shard that could not store its report (over the ConfigMap limit): named at once, exit 3; --keep keeps the objects', async () => {
  const run = coordinator([
    server.url,
    '--rate',
    '10',
    '-d',
    '5s',
    '--shards',
    '2',
    '--start-at',
    '+60s',
    '--keep',
  ]);
  const job = await runningJob();
  const runId = job.metadata.labels[RUN_LABEL]!;
  const name = job.metadata.name;
  // What storeShardReport writes when the gzipped report is too large, written with the shard's own token.
  const token = await serviceAccountToken(cluster, NS, job.spec.template.spec.serviceAccountName);
  const stored = await adminRequest(
    cluster,
    'POST',
    `/api/v1/namespaces/${NS}/configmaps`,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-2`, labels: { [RUN_LABEL]: runId, 'sentinel-ctl/bench-shard': '2' } },
      data: {
        error:
          'the report of shard 2 is 1200000 bytes gzipped, over the 1000000-byte limit of a ConfigMap (1 MiB)',
      },
    },
    token,
  );
  expect(stored.status).toBe(201);
  const r = await run;
  expect(r.exitCode, String(r.stderr)).toBe(3);
  const doc = JSON.parse(String(r.stdout)) as { error: { code: string; message: string } };
  expect(doc.error.code).toBe('SHARD_FAILED');
  expect(doc.error.message).toBe(
    'Shard 2/2: the report of shard 2 is 1200000 bytes gzipped, over the 1000000-byte limit of a ConfigMap (1 MiB).',
  );
  const doc2 = JSON.parse(String(r.stdout)) as { warnings: string[] };
  expect(doc2.warnings).toContainEqual(
    expect.stringContaining(`Kept the run's objects in namespace ${NS} (--keep): kubectl -n ${NS} delete`),
  );
  expect((await leftovers(runId)).sort()).toEqual(
    [
      `ConfigMap/${name}-2`,
      `Job/${name}`,
      `Role/${name}`,
      `RoleBinding/${name}`,
      `ServiceAccount/${name}`,
    ].sort(),
  );
  for (const p of [
    'apis/batch/v1/namespaces/%/jobs',
    'api/v1/namespaces/%/serviceaccounts',
    'api/v1/namespaces/%/configmaps',
    'apis/rbac.authorization.k8s.io/v1/namespaces/%/roles',
    'apis/rbac.authorization.k8s.io/v1/namespaces/%/rolebindings',
  ])
    await adminRequest(
      cluster,
      'DELETE',
      `/${p.replace('%', NS)}?labelSelector=${RUN_LABEL}%3D${runId}&propagationPolicy=Background`,
    );
  expect(await leftovers(runId)).toEqual([]);
});

test('a user without the rights is refused before anything is created, naming what is missing', async () => {
  const r = await cliProcess([
    'bench',
    server.url,
    '--rate',
    '10',
    '--shards',
    '2',
    '--k8s',
    '--kubeconfig',
    cluster.kubeconfigFor('viewer'),
    '-n',
    NS,
    '--json',
  ]);
  expect(r.exitCode).toBe(3);
  const doc = JSON.parse(String(r.stdout)) as { error: { code: string; message: string } };
  expect(doc.error.code).toBe('FORBIDDEN');
  expect(doc.error.message).toContain(`may not create configmaps in ${NS}; create jobs.batch in ${NS};`);
  expect(doc.error.message).toContain('Nothing was created.');
  const jobs = await adminRequest<{ items: unknown[] }>(
    cluster,
    'GET',
    `/apis/batch/v1/namespaces/${NS}/jobs`,
  );
  expect(jobs.body.items).toEqual([]);
});

test('Ctrl-C: live progress, then the coordinator deletes what it created and exits 130', async () => {
  const run = coordinator(
    [server.url, '--rate', '10', '-d', '5s', '--shards', '3', '--start-at', '+60s'],
    false,
  );
  let stderr = '';
  run.stderr?.on('data', (c) => {
    stderr += c;
  });
  const job = await runningJob();
  const runId = job.metadata.labels[RUN_LABEL]!;
  await waitFor(async () => stderr.includes('shards reported 0/3'), 'the first progress line');
  run.kill('SIGINT');
  const r = await run;
  expect(r.exitCode, stderr).toBe(130);
  // Progress lines are wrapped to the terminal: compare the text, not the line breaks.
  stderr = stderr.replace(/\s+/g, ' ');
  expect(stderr).toContain(
    `Job sentinel-bench-${runId} (3 shards, image ghcr.io/harsh-bh/sentinel-ctl:latest) created in namespace ${NS}`,
  );
  expect(stderr).toContain('shards reported 0/3; Job: 0 active, 0 succeeded, 0 failed');
  expect(stderr).toMatch(/Error: Interrupted: the Job and its objects were deleted; no report\./);
  expect(await leftovers(runId)).toEqual([]);
});

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

test('the sentinel-ctl-bench role of `generate k8s` grants exactly what the coordinator asks for, and is enough: its ServiceAccount runs bench --k8s --shards 2 in a pod', async () => {
  const role = await adminRequest<{ rules: Rule[] }>(
    cluster,
    'GET',
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/sentinel-ctl-bench`,
  );
  expect(role.status).toBe(200);
  const granted = role.body.rules.flatMap((r) =>
    r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${res}.${g}`))),
  );
  const asked = benchAccessNeeds(NS, true).map(
    (n) =>
      `${n.verb} ${n.kind.toLowerCase()}s.${n.apiVersion.includes('/') ? n.apiVersion.split('/')[0] : ''}`,
  );
  expect([...new Set(granted)].sort()).toEqual([...new Set(asked)].sort());
  expect(role.body.rules.some((r) => r.resourceNames)).toBe(false);

  // A scenario file with ${env.NAME}, so the Secret rights are used too.
  const token = 'tok-bench-role';
  const target = await tokenServer(token);
  const base = target.url;
  const file = path.join(work, 'role.yaml');
  writeFileSync(
    file,
    `name: role\nbaseUrl: ${base}\nheaders:\n  Authorization: Bearer \${env.BENCH_TOKEN}\nrequests:\n  - name: get\n    path: /\n`,
  );
  try {
    // In a pod of the namespace with the generated ServiceAccount, and no -n: its namespace file says where.
    const run = runAsPod(cluster, {
      namespace: NS,
      serviceAccount: 'sentinel-ctl-bench',
      args: [
        'bench',
        '--scenario',
        file,
        '--rate',
        '20',
        '-d',
        '2s',
        '--shards',
        '2',
        '--start-at',
        '+20s',
        '--k8s',
      ],
      env: { BENCH_TOKEN: token },
    });
    const job = await Promise.race([
      runningJob(),
      run.then((r): Job => {
        throw new Error(`the coordinator exited ${r.exitCode} before creating its Job: ${r.stderr}`);
      }),
    ]);
    const runId = job.metadata.labels[RUN_LABEL]!;
    const shards = await Promise.all([shard(job, 0), shard(job, 1)]);
    for (const x of shards) expect(x.exitCode, String(x.stderr)).toBe(0);
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr.replace(/\s+/g, ' ')).toContain(`created in namespace ${NS} of context "in-cluster"`);
    expect(target.authorized()).toBe(40);
    // The Secret of the env values too.
    expect(await leftovers(runId)).toEqual([]);
  } finally {
    await target.close();
  }
});

test('the read-only role is refused before anything is created, naming each right it lacks and the bench role', async () => {
  const r = await runAsPod(cluster, {
    namespace: NS,
    serviceAccount: 'sentinel-ctl',
    args: ['bench', server.url, '--rate', '10', '--shards', '2', '--k8s', '--json'],
  });
  expect(r.exitCode, r.stderr).toBe(3);
  const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; suggestion: string } };
  expect(doc.error.code).toBe('FORBIDDEN');
  // sentinel-ctl-read may list ConfigMaps, Pods and Events: everything else the coordinator does is missing.
  const missing = [
    'create configmaps',
    'create jobs.batch',
    'create rolebindings.rbac.authorization.k8s.io',
    'create roles.rbac.authorization.k8s.io',
    'create serviceaccounts',
    'delete jobs.batch',
    'delete rolebindings.rbac.authorization.k8s.io',
    'delete roles.rbac.authorization.k8s.io',
    'delete serviceaccounts',
    'deletecollection configmaps',
    'deletecollection pods',
    'get jobs.batch',
    'update configmaps',
  ].map((m) => `${m} in ${NS}`);
  expect(doc.error.message).toBe(
    `bench --k8s refused: the user of context "in-cluster" (${cluster.server}) may not ${missing.join('; ')}. Nothing was created.`,
  );
  expect(doc.error.suggestion).toContain('Bind the sentinel-ctl-bench role');
  const jobs = await adminRequest<{ items: unknown[] }>(
    cluster,
    'GET',
    `/apis/batch/v1/namespaces/${NS}/jobs`,
  );
  expect(jobs.body.items).toEqual([]);
});

test("--k8s namespace default: in a pod the ServiceAccount's namespace; outside, the context's, else sentinel", async () => {
  const pods = await adminRequest<{ items: unknown[] }>(cluster, 'GET', `/api/v1/namespaces/${NS}/pods`);
  // In a pod of ${NS} (not sentinel), no -n: diagnose and status act on ${NS}.
  const diagnose = await runAsPod(cluster, {
    namespace: NS,
    serviceAccount: 'sentinel-ctl',
    args: ['diagnose', '--k8s', '--once', '--no-data-plane', '--json'],
  });
  expect(diagnose.exitCode, diagnose.stderr).toBe(0);
  const report = JSON.parse(diagnose.stdout).result as { namespace: string; facts: { pods: number } };
  expect(report.namespace).toBe(NS);
  expect(report.facts.pods).toBe(pods.body.items.length);
  const status = await runAsPod(cluster, {
    namespace: NS,
    serviceAccount: 'sentinel-ctl',
    args: ['status', '--k8s', '--json'],
  });
  expect(status.exitCode, status.stderr).toBe(0);
  expect(JSON.parse(status.stdout).result).toMatchObject({ context: 'in-cluster', namespace: NS });

  // Outside a pod: the kubeconfig context's namespace when it sets one, else sentinel; -n wins.
  const ca = readFileSync(path.join(cluster.dir, 'ca.crt'), 'utf8');
  const adminToken = readFileSync(path.join(cluster.dir, 'tokens.csv'), 'utf8').split(',')[0]!;
  const withNs = path.join(work, 'kubeconfig-ns');
  writeFileSync(
    withNs,
    kubeconfigYaml({
      server: cluster.server,
      ca,
      token: adminToken,
      user: 'admin',
      context: 'c',
      namespace: NS,
    }),
  );
  const nsOf = async (args: string[]) => {
    const x = await cli(['diagnose', '--k8s', '--once', '--no-data-plane', '--json', ...args]);
    expect(x.exitCode, x.stderr).toBe(0);
    return (JSON.parse(x.stdout).result as { namespace: string }).namespace;
  };
  expect(await nsOf(['--kubeconfig', withNs])).toBe(NS);
  expect(await nsOf(['--kubeconfig', cluster.kubeconfig])).toBe('sentinel');
  expect(await nsOf(['--kubeconfig', withNs, '-n', 'other'])).toBe('other');
});
