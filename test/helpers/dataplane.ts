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
