/**
 * `diagnose --k8s`'s data plane against a real kube-apiserver and the real stack (RabbitMQ, worker,
 * API, PostgreSQL, Redis started by `up`): RabbitMQ's Prometheus endpoint, the worker's /metrics and
 * the API's health are read through the API server's service proxy; PostgreSQL and Redis through
 * --database-url / --redis-url. The Services point (EndpointSlices) at a non-loopback address of
 * this machine where a TCP forwarder stands in front of each real service (test/helpers/dataplane.ts).
 */
import type net from 'node:net';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DiagnoseReport } from '../../../src/diagnose/types.js';
import { connectCluster } from '../../../src/k8s/client.js';
import type { K8sDiagnoseWithDataPlane } from '../../../src/k8s/commands.js';
import { pgClientUrl } from '../../../src/services/endpoints.js';
import { cli, cliJson } from '../../helpers/cli.js';
import { exposeService, forward, type LocalAddress, nonLoopbackAddress } from '../../helpers/dataplane.js';
import { startTestCluster, type TestCluster, waitFor } from '../../helpers/k8s.js';
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
    // No URL given: PostgreSQL and Redis are not read, with the port-forward hint.
    expect(report.dataPlane!.components.postgres!.error).toContain(
      `kubectl port-forward -n ${NS} svc/postgres 5432:5432`,
    );
    expect(r.exitCode).toBe(1);
  }, 180_000);
});
