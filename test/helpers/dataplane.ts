/**
 * The real stack's HTTP services behind Kubernetes Services, for `diagnose --k8s`'s data plane.
 *
 * kube-apiserver proxies only to non-loopback addresses, and only to endpoints whose targetRef is a
 * Pod of the same namespace with that address in status.podIPs (pkg/registry/core/service/storage,
 * ResourceLocation). The stack binds 127.0.0.1 everywhere (its services, its health checks and the
 * endpoints it hands to clients), so a plain TCP forwarder listens on a non-loopback local address
 * in front of each real service; the test then creates Pods (status written through the status
 * subresource, as a kubelet would), Services without selectors and EndpointSlices pointing at it.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { CoreV1Api, type KubernetesObject, setHeaderOptions } from '@kubernetes/client-node';
import type { TestCluster } from './k8s.js';

export interface LocalAddress {
  address: string;
  /** Removes the dummy interface when one was added. */
  release(): void;
}

const DUMMY = 'sentinel-dp0';
/** TEST-NET-2 (RFC 5737): never routed, so a dummy interface with it cannot shadow a real network. */
const DUMMY_ADDRESS = '198.51.100.77';

/** The first non-loopback IPv4 address of this machine; without one, a dummy interface (root). */
export function nonLoopbackAddress(): LocalAddress {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) {
        return { address: a.address, release() {} };
      }
    }
  }
  execFileSync('ip', ['link', 'add', DUMMY, 'type', 'dummy']);
  execFileSync('ip', ['addr', 'add', `${DUMMY_ADDRESS}/32`, 'dev', DUMMY]);
  execFileSync('ip', ['link', 'set', DUMMY, 'up']);
  return {
    address: DUMMY_ADDRESS,
    release() {
      execFileSync('ip', ['link', 'del', DUMMY]);
    },
  };
}

/** A plain TCP forwarder: `address:port` → 127.0.0.1:`target`. */
export async function forward(address: string, port: number, target: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return server;
}

export interface ExposedService {
  /** Service name. */
  name: string;
  /** Service port name (the one diagnose --k8s proxies to). */
  portName: string;
  servicePort: number;
  /** The Pod standing for the workload behind it. */
  pod: string;
  podLabels?: Record<string, string>;
  address: string;
  /** Port the forwarder listens on at `address`. */
  port: number;
}

/**
 * A Pod (Running, its podIP written through the status subresource), a Service without selector
 * and an EndpointSlice naming that Pod: what the endpoint-slice controller would have written.
 */
export async function exposeService(
  cluster: TestCluster,
  namespace: string,
  s: ExposedService,
): Promise<void> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const create = (o: KubernetesObject & Record<string, unknown>) => cluster.api.create(o);
  await create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: s.pod, namespace, labels: s.podLabels ?? {} },
    spec: { containers: [{ name: 'main', image: `sentinel/${s.name}:test` }] },
  });
  await core.patchNamespacedPodStatus(
    {
      name: s.pod,
      namespace,
      body: {
        status: {
          phase: 'Running',
          podIP: s.address,
          podIPs: [{ ip: s.address }],
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            {
              name: 'main',
              ready: true,
              restartCount: 0,
              image: `sentinel/${s.name}:test`,
              imageID: '',
              state: { running: { startedAt: new Date().toISOString() } },
            },
          ],
        },
      },
    },
    setHeaderOptions('Content-Type', 'application/merge-patch+json'),
  );
  await create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace },
    spec: { ports: [{ name: s.portName, port: s.servicePort, targetPort: s.port }] },
  });
  await create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${s.name}-1`, namespace, labels: { 'kubernetes.io/service-name': s.name } },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: [s.address],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', namespace, name: s.pod },
      },
    ],
    ports: [{ name: s.portName, port: s.port, protocol: 'TCP' }],
  });
}

/** A Pod whose status a kubelet (or the scheduler) would have written: `status` through the status subresource. */
export async function podWithStatus(
  cluster: TestCluster,
  namespace: string,
  o: {
    name: string;
    app: string;
    container: string;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    status: Record<string, unknown>;
  },
): Promise<void> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await cluster.api.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace, labels: { app: o.app } },
    spec: {
      containers: [{ name: o.container, image: `sentinel/${o.app}:test`, resources: o.resources ?? {} }],
    },
  } as KubernetesObject);
  await core.patchNamespacedPodStatus(
    { name: o.name, namespace, body: { status: o.status } },
    setHeaderOptions('Content-Type', 'application/merge-patch+json'),
  );
}

/** A core/v1 Event about a pod, as the kubelet or the scheduler records one. */
export async function podEvent(
  cluster: TestCluster,
  namespace: string,
  o: {
    pod: string;
    type: 'Normal' | 'Warning';
    reason: string;
    message: string;
    count: number;
    secondsAgo: number;
    source: string;
  },
): Promise<void> {
  const at = new Date(Date.now() - o.secondsAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await cluster.api.create({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${o.pod}.${o.reason.toLowerCase()}.${Math.random().toString(36).slice(2, 8)}`,
      namespace,
    },
    involvedObject: { kind: 'Pod', name: o.pod, namespace, apiVersion: 'v1' },
    type: o.type,
    reason: o.reason,
    message: o.message,
    count: o.count,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: o.source },
  } as KubernetesObject);
}

/** The three troubled pods of the Kubernetes pane's tests and captures, with their events. */
export async function troubledPods(cluster: TestCluster, namespace: string): Promise<void> {
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await podWithStatus(cluster, namespace, {
    name: 'worker-6d4f8-x2k9p',
    app: 'worker',
    container: 'worker',
    resources: { limits: { memory: '512Mi', cpu: '2' } },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'worker',
          ready: true,
          restartCount: 4,
          image: 'sentinel/worker:test',
          imageID: '',
          state: { running: { startedAt: ago(60) } },
          lastState: {
            terminated: { reason: 'OOMKilled', exitCode: 137, startedAt: ago(400), finishedAt: ago(90) },
          },
        },
      ],
    },
  });
  await podWithStatus(cluster, namespace, {
    name: 'api-7b9c4-q8w2z',
    app: 'api',
    container: 'api',
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'api',
          ready: false,
          restartCount: 7,
          image: 'sentinel/api:test',
          imageID: '',
          state: {
            waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' },
          },
          lastState: {
            terminated: { reason: 'Error', exitCode: 1, startedAt: ago(200), finishedAt: ago(190) },
          },
        },
      ],
    },
  });
  await podWithStatus(cluster, namespace, {
    name: 'worker-6d4f8-pn4dd',
    app: 'worker',
    container: 'worker',
    resources: { requests: { memory: '4Gi', cpu: '2' } },
    status: {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory.',
        },
      ],
    },
  });
  await podEvent(cluster, namespace, {
    pod: 'api-7b9c4-q8w2z',
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container api in pod api-7b9c4-q8w2z',
    count: 31,
    secondsAgo: 12,
    source: 'kubelet',
  });
  await podEvent(cluster, namespace, {
    pod: 'api-7b9c4-q8w2z',
    type: 'Normal',
    reason: 'Pulled',
    message: 'Container image "sentinel/api:test" already present on machine',
    count: 8,
    secondsAgo: 190,
    source: 'kubelet',
  });
  await podEvent(cluster, namespace, {
    pod: 'worker-6d4f8-pn4dd',
    type: 'Warning',
    reason: 'FailedScheduling',
    message: '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available',
    count: 5,
    secondsAgo: 30,
    source: 'default-scheduler',
  });
}
