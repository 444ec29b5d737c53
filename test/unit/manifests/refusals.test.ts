import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../../src/lib/errors.js';
import {
  applyPlan,
  type FileProblem,
  formatPlanDiff,
  loadManifestTree,
  type ManifestEdit,
  ManifestRefusal,
  planEdits,
} from '../../../src/manifests/index.js';
import { cleanupTemps, copyFixture, FIXTURES, snapshot } from './helpers.js';

afterAll(cleanupTemps);

const dir = path.join(FIXTURES, 'refusals');
const tree = loadManifestTree(dir, { base: dir });

function refusalOf(edits: ManifestEdit[]): FileProblem[] {
  try {
    planEdits(tree, edits);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestRefusal);
    expect((error as ManifestRefusal).exitCode).toBe(ExitCode.usage);
    return (error as ManifestRefusal).problems;
  }
  throw new Error('expected a refusal');
}

describe('edits that cannot be made safely are refused with file and line, never guessed', () => {
  test.each<[string, ManifestEdit, FileProblem]>([
    [
      'a value anchored and reused elsewhere',
      {
        op: 'set-resources',
        workload: { name: 'shared' },
        container: 'a',
        resources: { requests: { cpu: '500m' } },
      },
      {
        file: 'shared-anchor.yaml',
        line: 13,
        column: 13,
        reason:
          'containers[a].resources is anchored as &res and reused by *res; changing it would change every place that uses it',
      },
    ],
    [
      'an alias',
      {
        op: 'set-resources',
        workload: { name: 'shared' },
        container: 'b',
        resources: { requests: { cpu: '500m' } },
      },
      {
        file: 'shared-anchor.yaml',
        line: 17,
        column: 22,
        reason:
          'containers[b].resources is an alias (*res) of a value defined elsewhere; changing it would change every place that uses &res',
      },
    ],
    [
      'a key that comes from a merge key',
      {
        op: 'set-resources',
        workload: { name: 'merged' },
        container: 'sidecar',
        resources: { limits: { memory: '2Gi' } },
      },
      {
        file: 'merge-key.yaml',
        line: 16,
        column: 11,
        reason:
          'containers[sidecar].resources comes from the merge key `<<` here; setting it would override a shared value',
      },
    ],
    [
      'an aliased scalar',
      { op: 'set-configmap-key', configMap: { name: 'aliased' }, key: 'POOL_B', value: '8' },
      {
        file: 'alias-value.yaml',
        line: 7,
        column: 11,
        reason:
          'data.POOL_B is an alias (*pool) of a value defined elsewhere; changing it would change every place that uses &pool',
      },
    ],
    [
      'an env var given twice',
      { op: 'set-env', workload: { name: 'dup-env' }, name: 'DATABASE_URL', value: 'x' },
      {
        file: 'duplicates.yaml',
        line: 17,
        column: 0,
        reason:
          'env DATABASE_URL is given 2 times in container api (lines 12, 17); Kubernetes keeps the last, so remove the duplicate first',
      },
    ],
    [
      'a query parameter given twice',
      { op: 'set-pool-params', params: { pool_max_conns: 5 } },
      {
        file: 'duplicates.yaml',
        line: 25,
        column: 0,
        reason:
          "DATABASE_URL sets pool_max_conns more than once; the driver's choice is not obvious, fix it by hand",
      },
    ],
    [
      'a value Kubernetes fills in',
      { op: 'set-env', workload: { name: 'dup-env' }, name: 'POD_IP', value: 'x' },
      {
        file: 'duplicates.yaml',
        line: 14,
        column: 0,
        reason:
          'env POD_IP of container api is filled in by Kubernetes at run time (fieldRef); there is no value to change',
      },
    ],
    [
      'an ambiguous name',
      { op: 'set-replicas', workload: { name: 'twin' }, replicas: 3 },
      {
        file: 'twins.yaml',
        line: 6,
        column: 0,
        reason:
          'Deployment|StatefulSet/twin is defined 2 times (twins.yaml:1, twins.yaml:6); give its namespace',
      },
    ],
    [
      'a folded block scalar',
      { op: 'set-max-connections', value: 200, target: { name: 'folded-conf' } },
      {
        file: 'folded.yaml',
        line: 6,
        column: 20,
        reason: 'data.postgresql.conf is a folded block scalar (>); edit it by hand',
      },
    ],
    [
      'an object that is not there',
      { op: 'set-env', workload: { name: 'ghost' }, name: 'A', value: '1' },
      { file: '.', line: 0, column: 0, reason: 'Deployment|StatefulSet/ghost is not in the manifest tree' },
    ],
    [
      'a pod with several containers and none named',
      { op: 'set-env', workload: { name: 'external-db' }, name: 'A', value: '1' },
      {
        file: 'external.yaml',
        line: 1,
        column: 0,
        reason: 'Deployment/external-db has 2 containers (api, proxy); say which one',
      },
    ],
    [
      'a value kept outside the tree',
      {
        op: 'set-env',
        workload: { name: 'external-db' },
        container: 'api',
        name: 'DATABASE_URL',
        value: 'x',
      },
      {
        file: 'external.yaml',
        line: 12,
        column: 0,
        reason:
          'env DATABASE_URL of container api comes from Secret managed-by-vault key url, but Secret managed-by-vault is not in the manifest tree; change it where it is defined',
      },
    ],
  ])('%s', (_name, edit, problem) => {
    expect(refusalOf([edit])).toEqual([problem]);
  });

  test('the same files still accept edits that touch nothing shared', () => {
    const plan = planEdits(tree, [
      { op: 'set-configmap-key', configMap: { name: 'aliased' }, key: 'OTHER', value: '2' },
      { op: 'set-replicas', workload: { name: 'twin', namespace: 'green' }, replicas: 3 },
    ]);
    expect(formatPlanDiff(plan)).toBe(
      [
        '--- a/alias-value.yaml',
        '+++ b/alias-value.yaml',
        '@@ -5,4 +5,4 @@',
        ' data:',
        '   POOL_A: &pool "4"',
        '   POOL_B: *pool',
        '-  OTHER: "1"',
        '+  OTHER: "2"',
        '--- a/twins.yaml',
        '+++ b/twins.yaml',
        '@@ -6,4 +6,4 @@',
        ' apiVersion: apps/v1',
        ' kind: Deployment',
        ' metadata: {name: twin, namespace: green}',
        '-spec: {replicas: 1}',
        '+spec: {replicas: 3}',
        '',
      ].join('\n'),
    );
  });

  test('a connection string kept outside the tree is a warning, not a guess', () => {
    const plan = planEdits(tree, [
      { op: 'set-pool-params', workload: { name: 'external-db' }, params: { pool_max_conns: 5 } },
    ]);
    expect(plan.files).toEqual([]);
    expect(plan.warnings).toEqual([
      'Deployment/external-db container api reads DATABASE_URL from outside the tree (Secret managed-by-vault is not in the manifest tree); set pool_max_conns there by hand (external.yaml:12)',
    ]);
  });

  test('all refusals of a plan are reported together and nothing is written', () => {
    const copy = copyFixture('refusals');
    const before = snapshot(copy);
    const t = loadManifestTree(copy, { base: copy });
    const edits: ManifestEdit[] = [
      { op: 'set-configmap-key', configMap: { name: 'aliased' }, key: 'OTHER', value: '2' }, // fine on its own
      { op: 'set-configmap-key', configMap: { name: 'aliased' }, key: 'POOL_A', value: '8' },
      { op: 'set-replicas', workload: { name: 'twin' }, replicas: 3 },
    ];
    let err: ManifestRefusal | undefined;
    try {
      applyPlan(planEdits(t, edits));
    } catch (error) {
      err = error as ManifestRefusal;
    }
    expect(err?.problems.map((p) => `${p.file}:${p.line}`)).toEqual(['alias-value.yaml:6', 'twins.yaml:6']);
    expect(err?.message.split('\n')[0]).toBe('Refusing 2 manifest edits; no file was changed:');
    expect(snapshot(copy)).toEqual(before);

    // With collectRefusals the caller gets the safe part of the plan and the refusals as data.
    const partial = planEdits(t, edits, { collectRefusals: true });
    expect(partial.files.map((f) => f.display)).toEqual(['alias-value.yaml']);
    expect(partial.refusals.map((p) => `${p.file}:${p.line}`)).toEqual([
      'alias-value.yaml:6',
      'twins.yaml:6',
    ]);
  });
});

describe('generic edits', () => {
  test('set-field on a Secret never shows the value, in the diff or the change list', () => {
    const sentinel = path.join(FIXTURES, 'sentinel');
    const plan = planEdits(loadManifestTree(sentinel, { base: sentinel }), [
      {
        op: 'set-field',
        object: { kind: 'Secret', name: 'sentinel-secrets' },
        path: ['stringData', 'JWT_SECRET'],
        value: 'new-signing-key',
      },
    ]);
    expect(plan.changes).toEqual([
      {
        file: 'secrets.yaml',
        line: 21,
        object: 'Secret/sentinel/sentinel-secrets',
        field: 'stringData.JWT_SECRET',
        from: '****',
        to: '****',
      },
    ]);
    // The changed line still shows as changed, its value hidden on both sides.
    expect(formatPlanDiff(plan)).toContain('-  JWT_SECRET: ****\n+  JWT_SECRET: ****\n');
    const shown = formatPlanDiff(plan) + JSON.stringify(plan);
    expect(shown).not.toMatch(/new-signing-key|jwt-signing-key/);
    expect(plan.files[0]!.after).toContain('JWT_SECRET: "new-signing-key"');
  });
});
