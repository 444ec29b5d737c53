import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { configMapHash, generatedSet, loadManifestSet } from '../../../src/k8s/manifests.js';
import { judge } from '../../../src/k8s/rollout.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-k8s-manifests-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type PodTemplated = {
  metadata: { name: string; namespace?: string };
  spec: {
    template: {
      spec: {
        containers: Array<{ image: string; envFrom: Array<{ configMapRef: { name: string } }> }>;
        volumes: Array<{ configMap: { name: string } }>;
      };
    };
  };
};

function write(rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), text);
}

describe('the Kustomize subset up --k8s renders', () => {
  test('namespace, nested resources, configMapGenerator with hash suffix and references, images', () => {
    write('base/kustomization.yaml', 'resources: [app.yaml]\n');
    write(
      'base/app.yaml',
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: sentinel-api:old
          envFrom: [{configMapRef: {name: settings}}]
      volumes: [{name: cfg, configMap: {name: settings}}, {name: other, configMap: {name: unrelated}}]
`,
    );
    write('conf/a.cfg', 'x=1\n');
    write(
      'overlay/kustomization.yaml',
      `namespace: prod
resources: [../base]
configMapGenerator:
  - name: settings
    files: [../conf/a.cfg]
    literals: [MODE=fast]
images:
  - {name: sentinel-api, newName: reg.example/sentinel-api, newTag: v2}
`,
    );
    const set = loadManifestSet(path.join(dir, 'overlay'));
    const [cm, dep] = set.objects as unknown as [Record<string, unknown>, PodTemplated];
    const hash = configMapHash('settings', { 'a.cfg': 'x=1\n', MODE: 'fast' });
    expect(hash).toMatch(/^[a-z0-9]{10}$/);
    expect(cm).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `settings-${hash}`, namespace: 'prod' },
      data: { 'a.cfg': 'x=1\n', MODE: 'fast' },
    });
    expect(dep.metadata.namespace).toBe('prod');
    const spec = dep.spec.template.spec;
    expect(spec.containers[0]!.image).toBe('reg.example/sentinel-api:v2');
    expect(spec.containers[0]!.envFrom[0]!.configMapRef.name).toBe(`settings-${hash}`);
    expect(spec.volumes.map((v) => v.configMap.name)).toEqual([`settings-${hash}`, 'unrelated']);
  });

  test('a kustomization with patches is refused (exit 2) with the kubectl kustomize hint', () => {
    write('patched/kustomization.yaml', 'resources: []\npatches: [{path: p.yaml}]\n');
    expect(() => loadManifestSet(path.join(dir, 'patched'))).toThrow(
      /uses patches, which up --k8s does not render/,
    );
  });

  test('the generated set: every file of kustomization.yaml, in the guide order, without the rbac/ roles', () => {
    const set = generatedSet({
      profile: 'dev',
      namespace: 'team-a',
      workload: 'default',
      host: 'h.example',
      registry: 'r.example',
      tag: 't1',
    });
    expect(set.objects.find((o) => o.kind === 'Namespace')).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'team-a' },
    });
    expect(set.objects.filter((o) => o.metadata.name.startsWith('sentinel-ctl-'))).toEqual([]);
    expect(set.objects.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'team-a')).toBe(true);
    const worker = set.objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'worker',
    ) as unknown as PodTemplated;
    expect(worker.spec.template.spec.containers[0]!.image).toBe('r.example/sentinel-worker:t1');
  });
});

describe('rollout judgement (as kubectl rollout status)', () => {
  const dep = (status: Record<string, number>, generation = 2) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', generation },
    spec: { replicas: 3 },
    status,
  });
  test('ready only when the controller saw the spec and every replica is updated, ready and available', () => {
    const full = {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    };
    expect(judge(dep(full))).toEqual({ ready: true, progress: '3/3 ready' });
    expect(judge(dep({ ...full, observedGeneration: 1 })).ready).toBe(false);
    expect(judge(dep({ ...full, readyReplicas: 2 }))).toEqual({ ready: false, progress: '2/3 ready' });
    expect(judge(dep({ ...full, replicas: 4 })).ready).toBe(false);
  });
});
