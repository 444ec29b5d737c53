/**
 * `diagnose --k8s`'s data plane against a real kube-apiserver and the real stack (RabbitMQ, worker,
 * API, PostgreSQL, Redis started by `up`): RabbitMQ's Prometheus endpoint, the worker's /metrics and
 * the API's health are read through the API server's service proxy; PostgreSQL and Redis through
 * --database-url / --redis-url. The Services point (EndpointSlices) at a non-loopback address of
 * this machine where a TCP forwarder stands in front of each real service (test/helpers/dataplane.ts).
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';
import { render } from 'ink-testing-library';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { DiagnoseReport } from '../../../src/diagnose/types.js';
import { DiagnoseApp } from '../../../src/diagnose/ui/DiagnoseApp.js';
import { connectCluster } from '../../../src/k8s/client.js';
import type { K8sDiagnoseWithDataPlane } from '../../../src/k8s/commands.js';
import { dataPlaneSession } from '../../../src/k8s/dataplane.js';
import { K8sDiagnoseSource } from '../../../src/k8s/pods.js';
import { pgClientUrl } from '../../../src/services/endpoints.js';
import { cli, cliJson, repoRoot } from '../../helpers/cli.js';
import {
  exposeService,
  forward,
  type LocalAddress,
  nonLoopbackAddress,
  troubledPods,
} from '../../helpers/dataplane.js';
import { runAsPod, startTestCluster, type TestCluster, waitFor } from '../../helpers/k8s.js';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';

const NS = 'sentinel';
let cluster: TestCluster;
let stack: TestStack;
let local: LocalAddress;
const forwarders: net.Server[] = [];

async function diagnoseK8s(...extra: string[]) {
  return cliJson<K8sDiagnoseWithDataPlane>([
    'diagnose',
    '--k8s',
    '--kubeconfig',
    cluster.kubeconfig,
    '-n',
    NS,
    '--json',
    '--sample-interval',
    '500ms',
    '--timeout',
    '5s',
    ...extra,
  ]);
}

beforeAll(async () => {
  local = nonLoopbackAddress();
  [cluster, stack] = await Promise.all([
    startTestCluster('k8sProxy'),
    startStack({ offset: testOffset('k8sProxy') }),
  ]);
  const p = stack.config.ports;
  await cluster.api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.api.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'worker-config', namespace: NS },
    data: { WORKER_POOL_SIZE: String(stack.config.worker.poolSize) },
  } as never);
  const services = [
    {
      name: 'rabbitmq',
      portName: 'prometheus',
      servicePort: 15692,
      pod: 'rabbitmq-0',
      target: p.rabbitmqPrometheus,
    },
    {
      name: 'worker-metrics',
      portName: 'metrics',
      servicePort: 9090,
      pod: 'worker-7c9f-abcde',
      target: p.workerMetrics,
    },
    { name: 'api', portName: 'http', servicePort: 8080, pod: 'api-5d8b-fghij', target: p.api },
  ];
  for (const s of services) {
    // The same port number on the non-loopback address (the stack holds it on 127.0.0.1 only).
    forwarders.push(await forward(local.address, s.target, s.target));
    await exposeService(cluster, NS, { ...s, address: local.address, port: s.target });
  }
  // The API server resolves endpoints from its informer cache: wait until the proxy answers.
  const c = connectCluster({ kubeconfig: cluster.kubeconfig });
  const f = c.fetch();
  await waitFor(async () => {
    const res = await f(`${c.serviceProxyUrl(NS, 'api', 'http')}/api/v1/health`);
    return res.status === 200;
  }, 'the service proxy to reach the API');
  // The broker exports a queue's figures from its first statistics emission (every 5 s) on.
  await waitFor(async () => {
    const res = await f(
      `${c.serviceProxyUrl(NS, 'rabbitmq', 'prometheus')}/metrics/detailed?family=queue_consumer_count`,
    );
    return /queue="execution_tasks"\} [1-9]/.test(await res.text());
  }, "RabbitMQ's Prometheus endpoint to report the worker's consumers");
}, 600_000);

afterAll(async () => {
  for (const s of forwarders) s.close();
  await stack?.stop();
  await cluster?.stop();
  local?.release();
}, 180_000);

describe('diagnose --k8s data plane', () => {
  test('reads RabbitMQ, the worker and the API through the service proxy, PostgreSQL/Redis from the URLs', async () => {
    const r = await diagnoseK8s('--database-url', stack.urls.databaseUrl, '--redis-url', stack.urls.redisUrl);
    expect(r.json?.result, r.stderr).toBeDefined();
    const dp = r.json.result.dataPlane!;
    expect(dp.components.rabbitmq).toMatchObject({ ok: true });
    expect(dp.components.rabbitmq!.target).toContain(
      `/api/v1/namespaces/${NS}/services/rabbitmq:prometheus/proxy`,
    );
    expect(dp.components.worker!.target).toContain('/services/worker-metrics:metrics/proxy/metrics');
    const facts = dp.facts as DiagnoseReport['facts'];
    // The worker's own gauges, read through the proxy.
    expect(facts.worker.ok && facts.worker.facts.poolSize).toBe(stack.config.worker.poolSize);
    expect(facts.api.ok && facts.api.facts.httpStatus).toBe(200);
    if (!facts.rabbitmq.ok) throw new Error(facts.rabbitmq.error);
    expect(facts.rabbitmq.facts.via).toBe('prometheus');
    const task = facts.rabbitmq.facts.queues.find((q) => q.name === 'execution_tasks');
    expect(task?.consumers).toBeGreaterThan(0);
    // PostgreSQL through --database-url: the server's own max_connections.
    const db = new pg.Client({ connectionString: pgClientUrl(stack.urls.databaseUrl) });
    await db.connect();
    const max = Number((await db.query('SHOW max_connections')).rows[0].max_connections);
    await db.end();
    expect(facts.postgres.ok && facts.postgres.facts.maxConnections).toBe(max);
    expect(facts.redis.ok).toBe(true);
    expect(r.json.result.findings.filter((f) => f.severity === 'critical')).toEqual([]);
    expect(r.exitCode).toBe(0);
  }, 180_000);

  test('worker stopped, jobs published → no consumer and worker unreachable, naming the Services', async () => {
    expect((await cli(['down', ...stack.args, '--services', 'worker'])).exitCode).toBe(0);
    const conn = await amqp.connect(stack.urls.rabbitmqUrl);
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < 37; i++) {
      ch.sendToQueue('execution_tasks', Buffer.from(JSON.stringify({ job_id: `k8s-backlog-${i}` })), {
        persistent: true,
      });
    }
    await ch.waitForConfirms();
    await conn.close();
    // The Prometheus endpoint shows the broker's statistics, emitted every 5 s.
    const c = connectCluster({ kubeconfig: cluster.kubeconfig });
    const f = c.fetch();
    await waitFor(async () => {
      const res = await f(
        `${c.serviceProxyUrl(NS, 'rabbitmq', 'prometheus')}/metrics/detailed?family=queue_coarse_metrics`,
      );
      return (await res.text()).includes(
        'rabbitmq_detailed_queue_messages_ready{vhost="/",queue="execution_tasks"} 37',
      );
    }, 'the 37 messages in the broker statistics');
    const r = await diagnoseK8s();
    expect(r.json?.result, r.stderr).toBeDefined();
    const report = r.json.result;
    const noConsumer = report.findings.find((f) => f.id === 'queue-no-consumers');
    expect(noConsumer).toMatchObject({ severity: 'critical' });
    expect(noConsumer!.object).toBe(`Service/rabbitmq → StatefulSet/rabbitmq (${NS})`);
    expect(noConsumer!.title).toContain('37 jobs waiting');
    const worker = report.findings.find((f) => f.id === 'worker-unreachable');
    expect(worker?.object).toBe(`Service/worker-metrics → Deployment/worker (${NS})`);
    // The proxy's answer is the reason: the forwarder's upstream is gone.
    expect(report.dataPlane!.components.worker!.ok).toBe(false);
    expect(report.dataPlane!.components.worker!.error).toContain(
      "the API server's service proxy answered 50",
    );
    // No URL given: PostgreSQL and Redis are not read, with the port-forward hint.
    expect(report.dataPlane!.components.postgres!.error).toContain(
      `kubectl port-forward -n ${NS} svc/postgres 5432:5432`,
    );
    expect(r.exitCode).toBe(1);
  }, 180_000);

  test("the Kubernetes pane: pods with status, restarts and last termination; tab, arrows and enter open a pod's events", async () => {
    await troubledPods(cluster, NS);
    const c = connectCluster({ kubeconfig: cluster.kubeconfig });
    const { session } = await dataPlaneSession(c, NS, { timeoutMs: 5000 });
    const source = new K8sDiagnoseSource(c, NS, session);
    const app = render(
      <DiagnoseApp
        source={source}
        intervalMs={600_000}
        taskQueue="execution_tasks"
        onExit={() => {}}
        columns={80}
        rows={24}
      />,
    );
    const frame = () => app.lastFrame() ?? '';
    const until = (check: (f: string) => boolean) =>
      vi.waitFor(() => expect(check(frame()), frame()).toBe(true), { timeout: 60_000, interval: 100 });
    try {
      await until((f) => f.includes('PODS 6'));
      const lines = frame().split('\n');
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
      // Worst first: the crash loop and the OOM kill (critical), then the Pending pod.
      const rows = lines.filter((l) => /^[ ▸](api|worker|rabbitmq)-/.test(l));
      expect(rows[0]).toMatch(/^ api-7b9c4-q8w2z\s+CrashLoopBackOff\s+0\/1\s+7\s+\S+ Error \(1\) \d+m ago$/);
      expect(rows[1]).toMatch(
        /^ worker-6d4f8-x2k9p\s+Running\s+1\/1\s+4\s+\S+ OOMKilled \(137\) \d+(s|m) ago$/,
      );
      expect(rows[2]).toMatch(/^ worker-6d4f8-pn4dd\s+Pending\s+0\/1\s+0\s+\S+ -$/);
      expect(frame()).toContain('Pod/worker-6d4f8-x2k9p: Container worker was OOMKilled');
      expect(frame()).toContain('tab pane (pods) · enter details/events');
      app.stdin.write('\t');
      await until((f) => /▸api-7b9c4-q8w2z/.test(f));
      app.stdin.write('\u001B[B');
      app.stdin.write('\u001B[B');
      await until((f) => /▸worker-6d4f8-pn4dd/.test(f));
      app.stdin.write('\r');
      await until((f) => f.includes('Pod/worker-6d4f8-pn4dd Pending'));
      expect(frame()).toContain('Scheduling: Unschedulable: 0/3 nodes are available: 3 Insufficient memory.');
      expect(frame()).toContain('requests cpu=2 memory=4Gi');
      expect(frame()).toMatch(/Warning FailedScheduling ×5 \d+s ago 0\/3 nodes are available/);
      app.stdin.write('\u001B');
      await until((f) => f.includes('PODS 6'));
      app.stdin.write('\u001B[A');
      app.stdin.write('\u001B[A');
      await until((f) => /▸api-7b9c4-q8w2z/.test(f));
      app.stdin.write('\r');
      await until((f) => f.includes('Events 2'));
      expect(frame()).toMatch(/Warning BackOff ×31 \d+s ago Back-off restarting failed container api/);
      expect(frame()).toMatch(/Normal\s+Pulled ×8 \d+m ago/);
      expect(frame()).toContain('api waiting: CrashLoopBackOff · restarts 7 · last Error (1)');
    } finally {
      app.unmount();
      await source.close();
    }
  }, 180_000);

  test('in a pod: the service account of the namespace (in-cluster config), its token through the proxy too', async () => {
    // The pod's ServiceAccount gets the read role `generate k8s` writes (rbac/sentinel-ctl.yaml),
    // services/proxy included; nothing else.
    const rbac = parseAllDocuments(
      readFileSync(path.join(repoRoot, 'templates/k8s/rbac/sentinel-ctl.yaml'), 'utf8').replaceAll(
        '{{namespace}}',
        NS,
      ),
    )
      .map((d) => d.toJS() as { kind: string; metadata: { name: string } })
      .filter((o) => o?.kind === 'Role' && o.metadata.name === 'sentinel-ctl-read');
    expect(rbac).toHaveLength(1);
    await cluster.api.create(rbac[0] as never);
    await cluster.api.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'diagnose-read', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sentinel-ctl-read' },
      subjects: [{ kind: 'ServiceAccount', name: 'diagnose', namespace: NS }],
    } as never);
    const r = await runAsPod(cluster, {
      namespace: NS,
      serviceAccount: 'diagnose',
      args: ['diagnose', '--k8s', '--json', '--sample-interval', '500ms', '--timeout', '5s'],
    });
    const doc = JSON.parse(r.stdout) as { result: K8sDiagnoseWithDataPlane };
    expect(doc.result.context, r.stderr).toBe('in-cluster');
    expect(doc.result.server).toBe(cluster.server);
    expect(doc.result.namespace).toBe(NS);
    expect(doc.result.facts.pods).toBe(6);
    expect(doc.result.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(['pod-crash-loop', 'pod-oom-killed', 'pod-pending']),
    );
    // The bearer token goes to the API server; the proxied RabbitMQ endpoint answers.
    expect(doc.result.dataPlane!.components.rabbitmq).toMatchObject({ ok: true });
    expect(r.exitCode).toBe(1);
  }, 180_000);
});
