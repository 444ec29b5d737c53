import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { selectManifestFiles } from '../../../src/facts/select.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tune-select-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files: Record<string, string> = {
  // A worker whose pool size comes only through envFrom: found through the ConfigMap it names.
  'executor.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: executor
spec:
  template:
    spec:
      containers:
        - name: run
          image: ghcr.io/x/executor:1
          envFrom:
            - configMapRef: {name: executor-settings}
`,
  'executor-settings.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: executor-settings
data:
  WORKER_POOL_SIZE: "4"
`,
  // The API, by name; its Secret, by reference.
  'api.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  labels: {app: x}
  name: "sentinel-api"
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/x/api:1
          env:
            - name: DATABASE_URL
              valueFrom: {secretKeyRef: {name: api-db, key: DATABASE_URL}}
`,
  'api-db.yaml': `apiVersion: v1
kind: Secret
metadata:
  name: api-db
stringData:
  DATABASE_URL: postgres://a:b@db/x
`,
  // PostgreSQL by image, Redis config by name, a ScaledObject always.
  'db.yaml': `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers: [{name: db, image: "postgres:16"}]
`,
  'redis-config.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: redis-config
data:
  notes: nothing
`,
  'scaler.yaml': `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: s
spec: {scaleTargetRef: {name: executor}}
`,
  'k/kustomization.yaml': `resources: []
`,
  // Not Kubernetes objects: kept, the loader decides what they are.
  'patch.yaml': `- op: replace
  path: /spec/replicas
  value: 3
`,
  // Unrelated applications: left out, one of them in a multi-document file.
  'shop.yaml': `# the shop
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  LOG_LEVEL: info
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
        - name: shop
          image: nginx:1.25
          envFrom: [{configMapRef: {name: shop-config}}]
...
`,
  'shop-db.yaml': `apiVersion: v1
kind: Secret
metadata:
  name: shop-db
stringData:
  DATABASE_URL: postgres://shop:pw@db/shop
`,
  '.env': 'WORKER_POOL_SIZE=4\n',
};

for (const [name, text] of Object.entries(files)) {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), text);
}

describe('which manifest files tune parses', () => {
  test('the stack and what it references; not the unrelated apps', () => {
    const s = selectManifestFiles([dir]);
    expect(s.files.map((f) => path.relative(dir, f)).sort()).toEqual(
      [
        '.env',
        'api-db.yaml',
        'api.yaml',
        'db.yaml',
        'executor-settings.yaml',
        'executor.yaml',
        'k/kustomization.yaml',
        'patch.yaml',
        'redis-config.yaml',
        'scaler.yaml',
      ].sort(),
    );
    expect(s.yamlFiles).toBe(11);
    expect(s.leftOut).toBe(2);
  });
});
