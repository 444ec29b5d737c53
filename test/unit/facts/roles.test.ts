import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findRoles } from '../../../src/facts/roles.js';
import { loadManifestTree } from '../../../src/manifests/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tune-roles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deployment = (name: string, env: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: main
          image: ghcr.io/x/${name}:1
          env: [{name: ${env}, value: "4"}]
`;
// Two workloads that both look like the worker (each sets WORKER_POOL_SIZE), and one API.
writeFileSync(
  path.join(dir, 'set.yaml'),
  [
    deployment('executor-a', 'WORKER_POOL_SIZE'),
    deployment('executor-b', 'WORKER_POOL_SIZE'),
    deployment('api', 'DATABASE_URL'),
  ].join('---\n'),
);
const tree = loadManifestTree(dir, { base: dir });

describe('findRoles', () => {
  test('several worker-like workloads: an error naming --worker-workload, and where they were found', () => {
    expect(() => findRoles(tree)).toThrow(
      /^Several worker workloads in the manifests: .*executor-a.*executor-b/,
    );
    expect(() => findRoles(tree, {}, { where: 'in namespace loadtest' })).toThrow(
      /^Several worker workloads in namespace loadtest:/,
    );
  });

  test('askWorker false: the first is used with a note, and the API is still found', () => {
    const roles = findRoles(tree, {}, { askWorker: false });
    expect(roles.worker?.workload.object.name).toBe('executor-a');
    expect(roles.api?.workload.object.name).toBe('api');
    expect(roles.notes.join('\n')).toMatch(/several worker workloads .*executor-b.*; the first is used/);
  });

  test('a name that is not there says where it looked', () => {
    expect(() =>
      findRoles(tree, { api: 'nope' }, { where: 'in namespace sentinel of context "x"', askWorker: false }),
    ).toThrow(
      '--api-workload nope: no Deployment or StatefulSet of that name in namespace sentinel of context "x".',
    );
  });
});
