import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  type FileProblem,
  findConnectionStrings,
  formatPlanDiff,
  loadManifestTree,
  type ManifestEdit,
  ManifestRefusal,
  planEdits,
} from '../../../src/manifests/index.js';
import { expectGolden } from '../../helpers/files.js';
import { FIXTURES } from './helpers.js';

const dir = path.join(FIXTURES, 'kustomize');
const tree = loadManifestTree(dir, { base: dir });

function refusalOf(t: typeof tree, edit: ManifestEdit): FileProblem[] {
  try {
    planEdits(t, [edit]);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestRefusal);
    return (error as ManifestRefusal).problems;
  }
  throw new Error('expected a refusal');
}

describe('Kustomize trees', () => {
  test('patch files and kustomizations are not objects; generators are known', () => {
    expect(tree.objects.map((o) => `${o.kind}/${o.name} ${o.file}`)).toEqual([
      'ConfigMap/api-config base/configmap.yaml',
      'Deployment/api base/deployment.yaml',
    ]);
    expect(
      tree.generated.map(
        (g) => `${g.kind}/${g.name} ${g.kustomization}:${g.line} ${g.keys.map((k) => k.key)}`,
      ),
    ).toEqual([
      'Secret/db-secret overlays/prod/kustomization.yaml:19 DATABASE_URL',
      'Secret/analytics-db overlays/prod/kustomization.yaml:22 DATABASE_URL',
    ]);
  });

  test.each<[string, ManifestEdit, FileProblem]>([
    [
      'a field a strategic-merge patch file sets',
      { op: 'set-replicas', workload: { name: 'api' }, replicas: 3 },
      {
        file: 'overlays/prod/replicas-patch.yaml',
        line: 7,
        column: 0,
        reason:
          'Deployment/api spec.replicas is set by this strategic-merge patch (applied by overlays/prod/kustomization.yaml:7); a change in base/deployment.yaml would be overridden, so change it here',
      },
    ],
    [
      'a field an inline JSON 6902 patch replaces (index path mapped to the env name)',
      { op: 'set-env', workload: { name: 'api' }, name: 'LOG_LEVEL', value: 'warn' },
      {
        file: 'overlays/prod/kustomization.yaml',
        line: 11,
        column: 0,
        reason:
          'Deployment/api spec.template.spec.containers[api].env[LOG_LEVEL].value is set by this JSON 6902 patch (applied by overlays/prod/kustomization.yaml:8); a change in base/deployment.yaml would be overridden, so change it here',
      },
    ],
    [
      'a ConfigMap key a generator merges over',
      { op: 'set-configmap-key', configMap: { name: 'api-config' }, key: 'FEATURE_X', value: 'on' },
      {
        file: 'overlays/prod/kustomization.yaml',
        line: 17,
        column: 0,
        reason:
          'ConfigMap/api-config data.FEATURE_X is set by this generator merge (applied by overlays/prod/kustomization.yaml:14); a change in base/configmap.yaml would be overridden, so change it here',
      },
    ],
  ])('refuses %s', (_name, edit, problem) => {
    expect(refusalOf(tree, edit)).toEqual([problem]);
  });

  test('a patch the library cannot see blocks edits of the objects it may reach', () => {
    const hidden = path.join(FIXTURES, 'kustomize-hidden');
    const t = loadManifestTree(hidden, { base: hidden });
    expect(
      refusalOf(t, { op: 'set-env', workload: { name: 'api' }, name: 'WORKER_POOL_SIZE', value: '8' }),
    ).toEqual([
      {
        file: 'overlays/staging/kustomization.yaml',
        line: 4,
        column: 0,
        reason:
          'Deployment/api spec.template.spec.containers[api].env[WORKER_POOL_SIZE].value may be changed by the strategic-merge patch declared here, which the library cannot read (outside the manifest tree or not YAML); edit the value by hand',
      },
    ]);
  });

  test('DATABASE_URL in generator env files and literals is found and patched in place', () => {
    const { sites } = findConnectionStrings(tree);
    expect(sites.map((s) => [s.where, `${s.file}:${s.line}`, s.usedBy.map((u) => u.workload.name)])).toEqual([
      ['kustomize-env-file', 'overlays/prod/db.env:1', ['api']],
      ['kustomize-literal', 'overlays/prod/kustomization.yaml:24', []],
    ]);
    const plan = planEdits(tree, [
      { op: 'set-pool-params', params: { pool_max_conns: 20, pool_min_conns: 5 } },
      { op: 'set-env', workload: { name: 'api' }, name: 'WORKER_POOL_SIZE', value: '8' },
      { op: 'set-configmap-key', configMap: { name: 'api-config' }, key: 'CACHE_TTL', value: '120' },
    ]);
    expectGolden('manifests/kustomize.golden/tune.diff', formatPlanDiff(plan));
    expect(formatPlanDiff(plan)).not.toMatch(/an-pw|api-pw/);
    expect(plan.files.find((f) => f.display === 'overlays/prod/kustomization.yaml')?.after).toContain(
      '- DATABASE_URL=postgres://analytics:an-pw@db:5432/analytics?pool_max_conns=20&pool_min_conns=5\n',
    );
    const again = planEdits(loadManifestTree(dir, { base: dir }), []);
    expect(again.files).toEqual([]);
  });

  test('limited to one workload, only the connection strings it reads change', () => {
    const plan = planEdits(tree, [
      { op: 'set-pool-params', workload: { name: 'api' }, params: { pool_max_conns: 20 } },
    ]);
    expect(plan.files.map((f) => f.display)).toEqual(['overlays/prod/db.env']);
  });
});
