/**
 * The drift of `tune check --k8s --manifests` (src/k8s/tune.ts driftOf) on objects as the API
 * server returns them: server defaults and normalised quantities are not drift, lists match by
 * their merge key, Secret values and credentials are masked. The cluster side of the integration
 * test (test/integration/k8s/tune.test.ts) comes from a real kube-apiserver.
 */
import { describe, expect, test } from 'vitest';
import type { K8sObject } from '../../../src/k8s/client.js';
import { driftOf } from '../../../src/k8s/tune.js';
import { MASK } from '../../../src/lib/redact.js';

const deployment = (container: Record<string, unknown>, extra: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'worker', namespace: 'sentinel' },
  spec: { replicas: 2, template: { spec: { containers: [container] } }, ...extra },
});

const gitWorker = {
  name: 'worker',
  image: 'worker:1',
  ports: [{ containerPort: 9090 }],
  resources: { requests: { cpu: '2000m', memory: '1Gi' } },
  env: [
    { name: 'WORKER_POOL_SIZE', value: '4' },
    { name: 'DB_PASSWORD', value: 'git-secret-1' },
  ],
  volumeMounts: [
    { name: 'config', mountPath: '/etc/a.conf', subPath: 'a.conf' },
    { name: 'config', mountPath: '/etc/b.conf', subPath: 'b.conf' },
  ],
};

describe('driftOf', () => {
  test('server defaults, normalised quantities and reordered mounts are not drift', () => {
    const live = deployment(
      {
        ...gitWorker,
        imagePullPolicy: 'IfNotPresent',
        ports: [{ containerPort: 9090, protocol: 'TCP' }],
        resources: { requests: { cpu: '2', memory: '1Gi' } },
        volumeMounts: [...gitWorker.volumeMounts].reverse(),
      },
      { revisionHistoryLimit: 10 },
    );
    expect(driftOf([deployment(gitWorker)], [live], 'sentinel')).toEqual([]);
  });

  test('a changed field, an env var added live, and a credential masked on both sides', () => {
    const live = deployment({
      ...gitWorker,
      env: [
        { name: 'WORKER_POOL_SIZE', value: '9' },
        { name: 'DB_PASSWORD', value: 'live-secret-2' },
        { name: 'DEBUG', value: '1' },
      ],
    });
    const drift = driftOf([deployment(gitWorker)], [live], 'sentinel');
    expect(drift.map((d) => [d.field, d.git, d.cluster])).toEqual([
      ['spec.template.spec.containers[worker].env[WORKER_POOL_SIZE].value', '4', '9'],
      ['spec.template.spec.containers[worker].env[DB_PASSWORD].value', MASK, MASK],
      ['spec.template.spec.containers[worker].env[DEBUG]', '(absent)', 'set'],
    ]);
    expect(drift[0]!.match).toEqual({
      names: ['deployment/worker@sentinel', 'Deployment worker'],
      key: 'WORKER_POOL_SIZE',
    });
    expect(JSON.stringify(drift)).not.toMatch(/secret-[12]/);
  });

  test('Secret data (base64 live, stringData in Git) compares decoded and shows only the password masked', () => {
    const url = (pw: string, max: number) => `postgres://app:${pw}@db:5432/app?pool_max_conns=${max}`;
    const git: K8sObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-secrets' },
      stringData: { DATABASE_URL: url('hunter2-git', 20), TOKEN: 'same' },
    };
    const live: K8sObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-secrets', namespace: 'sentinel' },
      data: {
        DATABASE_URL: Buffer.from(url('hunter2-live', 30)).toString('base64'),
        TOKEN: Buffer.from('same').toString('base64'),
      },
    };
    const drift = driftOf([git], [live], 'sentinel');
    expect(drift).toHaveLength(1);
    expect(drift[0]!.field).toBe('data.DATABASE_URL');
    expect(drift[0]!.git).toContain('pool_max_conns=20');
    expect(drift[0]!.cluster).toContain('pool_max_conns=30');
    expect(JSON.stringify(drift)).not.toContain('hunter2');
  });

  test('a config file in a ConfigMap: the lines that differ, named by their setting', () => {
    const cm = (conf: string, ns?: string): K8sObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'postgres-config', ...(ns ? { namespace: ns } : {}) },
      data: { 'postgresql.conf': conf },
    });
    const drift = driftOf(
      [cm('shared_buffers = 1GB\nmax_connections = 413\n')],
      [cm('shared_buffers = 1GB\nmax_connections = 300\n', 'sentinel')],
      'sentinel',
    );
    expect(drift).toEqual([
      expect.objectContaining({
        field: 'data.postgresql.conf:2',
        git: 'max_connections = 413',
        cluster: 'max_connections = 300',
        match: {
          names: ['configmap/postgres-config@sentinel', 'ConfigMap postgres-config'],
          key: 'max_connections',
        },
      }),
    ]);
  });

  test('objects on one side only; controller-made and API-server objects, and other namespaces, are not', () => {
    const cm = (name: string, meta: Record<string, unknown> = {}): K8sObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'sentinel', ...meta },
      data: {},
    });
    const drift = driftOf(
      [cm('only-in-git'), { ...cm('elsewhere'), metadata: { name: 'elsewhere', namespace: 'other' } }],
      [
        cm('hand-made'),
        cm('kube-root-ca.crt'),
        cm('sentinel-ctl-inventory'),
        cm('owned', { ownerReferences: [{ kind: 'ScaledObject', name: 'worker' }] }),
      ],
      'sentinel',
    );
    expect(drift.map((d) => [d.object, d.kind])).toEqual([
      ['ConfigMap/only-in-git', 'only-in-git'],
      ['ConfigMap/hand-made', 'only-in-cluster'],
    ]);
  });
});
