import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  applyPlan,
  formatPlanDiff,
  loadManifestTree,
  type ManifestEdit,
  planEdits,
} from '../../../src/manifests/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes small trees into a temp dir; returns the dir. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'manifests-edge-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Plans, applies, re-plans: returns the new text of `file`, and checks the second run is empty. */
function edit(dir: string, file: string, edits: ManifestEdit[]): string {
  const plan = planEdits(loadManifestTree(dir, { base: dir }), edits);
  applyPlan(plan);
  expect(planEdits(loadManifestTree(dir, { base: dir }), edits).files).toEqual([]);
  return readFileSync(path.join(dir, file), 'utf8');
}

describe('creating what is missing', () => {
  test('a ConfigMap without data, last in a file without a final newline (kept without one)', () => {
    const dir = tree({ 'cm.yaml': 'kind: ConfigMap # 🚀 unicode before the edit\nmetadata:\n  name: c' });
    expect(
      edit(dir, 'cm.yaml', [{ op: 'set-configmap-key', configMap: { name: 'c' }, key: 'K', value: 'v' }]),
    ).toBe('kind: ConfigMap # 🚀 unicode before the edit\nmetadata:\n  name: c\ndata:\n  K: v');
  });

  test('an empty `data:` in the first of two documents', () => {
    const dir = tree({
      'cm.yaml':
        'kind: ConfigMap\nmetadata: {name: c}\ndata:\n# between documents\n---\nkind: ConfigMap\nmetadata: {name: d}\n',
    });
    expect(
      edit(dir, 'cm.yaml', [{ op: 'set-configmap-key', configMap: { name: 'c' }, key: 'K', value: '1' }]),
    ).toBe(
      'kind: ConfigMap\nmetadata: {name: c}\ndata:\n  K: "1"\n# between documents\n---\nkind: ConfigMap\nmetadata: {name: d}\n',
    );
  });

  test('an env var read through envFrom is changed in its ConfigMap', () => {
    const dir = tree({
      'app.yaml': [
        'kind: Deployment',
        'metadata: {name: app}',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: app',
        '          envFrom:',
        '            - configMapRef: {name: settings}',
        '---',
        'kind: ConfigMap',
        'metadata: {name: settings}',
        'data:',
        '  WORKER_POOL_SIZE: "4"',
        '',
      ].join('\n'),
    });
    const plan = planEdits(loadManifestTree(dir, { base: dir }), [
      { op: 'set-env', workload: { name: 'app' }, name: 'WORKER_POOL_SIZE', value: '6' },
    ]);
    expect(plan.changes.map((c) => `${c.file}:${c.line} ${c.field} ${c.from} → ${c.to}`)).toEqual([
      'app.yaml:14 data.WORKER_POOL_SIZE 4 → 6',
    ]);
  });
});

describe('.env files', () => {
  test('values keep their quotes; new keys appended; a bare KEY gets a value', () => {
    const dir = tree({ '.env': 'A=\'x\'\nB="two words"\nC\nD=plain' });
    expect(
      edit(dir, '.env', [
        { op: 'set-env-file-var', name: 'A', value: 'y' },
        { op: 'set-env-file-var', name: 'B', value: 'three short words' },
        { op: 'set-env-file-var', name: 'C', value: '3' },
        { op: 'set-env-file-var', name: 'D', value: 'has space' },
        { op: 'set-env-file-var', name: 'E', value: 'new' },
      ]),
    ).toBe('A=\'y\'\nB="three short words"\nC=3\nD="has space"\nE=new\n');
  });

  test('a key given twice is refused', () => {
    const dir = tree({ '.env': 'A=1\nA=2\n' });
    expect(() =>
      planEdits(loadManifestTree(dir, { base: dir }), [{ op: 'set-env-file-var', name: 'A', value: '3' }]),
    ).toThrow(/\.env:2: A is set 2 times \(lines 1, 2\); remove the duplicate first/);
  });
});

describe('Kustomize details', () => {
  test('a JSON patch file is read, so only the fields it names are blocked', () => {
    const dir = tree({
      'base/kustomization.yaml':
        'resources: [deploy.yaml]\npatches:\n  - path: patch.json\n    target: {kind: Deployment, name: app}\n',
      'base/patch.json': '[{"op": "replace", "path": "/spec/replicas", "value": 4}]\n',
      'base/deploy.yaml':
        'kind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 2\n  minReadySeconds: 5\n',
    });
    const t = loadManifestTree(dir, { base: dir });
    expect(() => planEdits(t, [{ op: 'set-replicas', workload: { name: 'app' }, replicas: 3 }])).toThrow(
      /base\/patch\.json:1: Deployment\/app spec\.replicas is set by this JSON 6902 patch/,
    );
    const plan = planEdits(t, [
      { op: 'set-field', object: { name: 'app' }, path: ['spec', 'minReadySeconds'], value: 10 },
    ]);
    expect(plan.files.map((f) => f.display)).toEqual(['base/deploy.yaml']);
  });

  test('replicas of a KEDA-scaled workload: changed, with a warning', () => {
    const dir = tree({
      'w.yaml':
        'kind: Deployment\nmetadata: {name: worker}\nspec:\n  replicas: 2\n---\nkind: ScaledObject\nmetadata: {name: so}\nspec:\n  scaleTargetRef: {name: worker}\n',
    });
    const plan = planEdits(loadManifestTree(dir, { base: dir }), [
      { op: 'set-replicas', workload: { name: 'worker' }, replicas: 3 },
    ]);
    expect(plan.warnings).toEqual([
      'Deployment/worker is scaled by ScaledObject so (w.yaml); KEDA overrides spec.replicas',
    ]);
    expect(formatPlanDiff(plan)).toContain('-  replicas: 2\n+  replicas: 3\n');
  });
});
