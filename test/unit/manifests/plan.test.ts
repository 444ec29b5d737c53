import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  applyPlan,
  formatPlanDiff,
  loadManifestTree,
  type ManifestEdit,
  planEdits,
} from '../../../src/manifests/index.js';
import { expectGolden } from '../../helpers/files.js';
import { cleanupTemps, copyFixture, FIXTURES, snapshot } from './helpers.js';

afterAll(cleanupTemps);

/** What `tune --write` would hand the library for the Sentinel fixture: every kind of edit once. */
const TUNE_EDITS: ManifestEdit[] = [
  {
    op: 'set-pool-params',
    params: { pool_max_conns: 20, pool_min_conns: 5 },
    reason: 'production: 20 per API replica',
  },
  { op: 'set-max-connections', value: 170, reason: '(3 × 20) + (50 × 2) + 10' },
  {
    op: 'set-resources',
    workload: { name: 'sentinel-worker' },
    resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  },
  // limits.cpu 1 equals the file's "1": only requests.cpu changes.
  {
    op: 'set-resources',
    workload: { name: 'sentinel-api' },
    container: 'api',
    resources: { requests: { cpu: '500m' }, limits: { cpu: 1 } },
  },
  { op: 'set-env', workload: { name: 'sentinel-worker' }, name: 'WORKER_POOL_SIZE', value: '8' },
  { op: 'set-env', workload: { name: 'sentinel-api' }, container: 'api', name: 'GOMAXPROCS', value: '2' },
  {
    op: 'patch-scaled-object',
    patch: {
      pollingInterval: 3,
      cooldownPeriod: 60,
      triggers: [{ type: 'rabbitmq', metadata: { value: 5 } }],
      behavior: {
        scaleUp: {
          policies: [
            { type: 'Pods', value: 10, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ],
        },
        scaleDown: { stabilizationWindowSeconds: 300 },
      },
    },
  },
  { op: 'set-env-file-var', name: 'WORKER_POOL_SIZE', value: '8' },
];

const CHANGED = [
  '.env',
  'api.yaml',
  'config.yaml',
  'keda.yaml',
  'postgres.yaml',
  'secrets.yaml',
  'worker.yaml',
];

/** Every credential in the fixture, in every encoding the files use. */
const SECRETS = [
  's3cr%40t%2Fpw',
  's3cr@t/pw',
  'w0rker-pw',
  'dzBya2VyLXB3', // base64 of w0rker-pw
  'cG9zdGdyZXM6Ly93b3JrZXI6dzBya2VyLXB3', // base64 prefix of the worker's URL
  'r3dis-pw',
  'jwt-signing-key',
  'dev-pw',
  'AAFiaW5hcnk=',
];

describe('planEdits over the Sentinel fixture', () => {
  const dir = path.join(FIXTURES, 'sentinel');

  test('the masked diff matches the checked-in golden diff', () => {
    const plan = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    expect(plan.files.map((f) => f.display)).toEqual(CHANGED);
    expectGolden('manifests/sentinel.golden/tune.diff', formatPlanDiff(plan));
    expect(plan.warnings).toEqual([]);
    expect(plan.refusals).toEqual([]);
  });

  test('the written bytes match the checked-in golden files', () => {
    const plan = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    for (const f of plan.files) {
      const golden =
        f.display === '.env'
          ? 'manifests/sentinel.golden/.env.golden'
          : `manifests/sentinel.golden/${f.display.replace(/\.yaml$/, '.golden.yaml')}`;
      expectGolden(golden, f.after);
      expect(f.before).toBe(readFileSync(path.join(dir, f.display), 'utf8'));
    }
  });

  test('every changed value is listed with file, line and masked values', () => {
    const plan = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    const rows = plan.changes.map(
      (c) => `${c.file}:${c.line} ${c.object ?? '-'} ${c.field}: ${c.from ?? '∅'} → ${c.to}`,
    );
    expect(rows).toEqual([
      'secrets.yaml:10 Secret/sentinel/sentinel-db DATABASE_URL pool_max_conns (data.DATABASE_URL): 4 → 20',
      'secrets.yaml:10 Secret/sentinel/sentinel-db DATABASE_URL pool_min_conns (data.DATABASE_URL): ∅ → 5',
      '.env:3 - DATABASE_URL pool_max_conns: 10 → 20',
      '.env:3 - DATABASE_URL pool_min_conns: 2 → 5',
      'api.yaml:27 Deployment/sentinel/sentinel-api DATABASE_URL pool_max_conns (containers[api].env[DATABASE_URL].value): 4 → 20',
      'api.yaml:27 Deployment/sentinel/sentinel-api DATABASE_URL pool_min_conns (containers[api].env[DATABASE_URL].value): ∅ → 5',
      'config.yaml:21 ConfigMap/sentinel/postgres-config data.postgresql.conf max_connections: 100 → 170',
      'postgres.yaml:22 StatefulSet/sentinel/postgres containers[postgres].args max_connections: 100 → 170',
      'worker.yaml:40 Deployment/sentinel/sentinel-worker containers[worker].resources.requests.cpu: ∅ → 500m',
      'worker.yaml:40 Deployment/sentinel/sentinel-worker containers[worker].resources.requests.memory: ∅ → 512Mi',
      'worker.yaml:40 Deployment/sentinel/sentinel-worker containers[worker].resources.limits.cpu: ∅ → 1',
      'worker.yaml:40 Deployment/sentinel/sentinel-worker containers[worker].resources.limits.memory: ∅ → 1Gi',
      'api.yaml:37 Deployment/sentinel/sentinel-api containers[api].resources.requests.cpu: 250m → 500m',
      'config.yaml:7 ConfigMap/sentinel/sentinel-config data.WORKER_POOL_SIZE: 4 → 8',
      'api.yaml:21 Deployment/sentinel/sentinel-api containers[api].env[GOMAXPROCS]: ∅ → 2',
      'keda.yaml:10 ScaledObject/sentinel/sentinel-worker spec.pollingInterval: 5 → 3',
      'keda.yaml:21 ScaledObject/sentinel/sentinel-worker spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].value: 5 → 10',
      'keda.yaml:22 ScaledObject/sentinel/sentinel-worker spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].periodSeconds: 30 → 15',
      'keda.yaml:25 ScaledObject/sentinel/sentinel-worker spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[1].periodSeconds: 30 → 15',
      'keda.yaml:28 ScaledObject/sentinel/sentinel-worker spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds: 120 → 300',
      'keda.yaml:37 ScaledObject/sentinel/sentinel-worker spec.triggers[0].metadata.value: 15 → 5',
      '.env:6 - WORKER_POOL_SIZE: 4 → 8',
    ]);
    expect(plan.changes.find((c) => c.field === 'spec.pollingInterval')?.reason).toBeUndefined();
    expect(plan.changes[6]?.reason).toBe('(3 × 20) + (50 × 2) + 10');
  });

  test('no secret appears in the diff, the change list or the plan as JSON', () => {
    const plan = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    const shown = [formatPlanDiff(plan), JSON.stringify(plan), JSON.stringify(plan.changes)].join('\n');
    for (const s of SECRETS) expect(shown, s).not.toContain(s);
    // …while the bytes to write hold the real, re-encoded values.
    const after = plan.files.find((f) => f.display === 'secrets.yaml')!.after;
    const b64 = /DATABASE_URL: (\S+)/.exec(after)![1]!;
    expect(Buffer.from(b64, 'base64').toString()).toBe(
      'postgres://worker:w0rker-pw@postgres.sentinel.svc:5432/sentinel?sslmode=disable&pool_max_conns=20&pool_min_conns=5',
    );
    expect(plan.files.find((f) => f.display === 'api.yaml')!.after).toContain('s3cr%40t%2Fpw@postgres');
  });
});

describe('applyPlan', () => {
  test('writes only changed files, keeps their mode, and a second run changes nothing', () => {
    const dir = copyFixture('sentinel');
    chmodSync(path.join(dir, 'secrets.yaml'), 0o600);
    chmodSync(path.join(dir, '.env'), 0o640);
    chmodSync(path.join(dir, 'keda.yaml'), 0o664);
    const before = snapshot(dir);
    const plan = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    const written = applyPlan(plan);
    expect(written.map((w) => path.relative(dir, w))).toEqual(CHANGED);
    const after = snapshot(dir);
    expect(Object.keys(after)).toEqual(Object.keys(before)); // no temp file left behind
    expect(after['secrets.yaml']?.mode).toBe(0o600);
    expect(after['.env']?.mode).toBe(0o640);
    expect(after['keda.yaml']?.mode).toBe(0o664);
    expect(after['api.yaml']?.mode).toBe(0o644);
    for (const f of plan.files) expect(readFileSync(f.path, 'utf8')).toBe(f.after);

    const again = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    expect(again.files).toEqual([]);
    expect(again.changes).toEqual([]);
    expect(formatPlanDiff(again)).toBe('');
    expect(applyPlan(again)).toEqual([]);
    expect(snapshot(dir)).toEqual(after); // not even rewritten with the same bytes
  });

  test('files the plan does not change keep their inode and mtime', () => {
    const dir = copyFixture('sentinel');
    const before = snapshot(dir);
    applyPlan(planEdits(loadManifestTree(dir, { base: dir }), [{ op: 'set-max-connections', value: 170 }]));
    const after = snapshot(dir);
    for (const f of ['.env', 'api.yaml', 'keda.yaml', 'secrets.yaml', 'worker.yaml'])
      expect(after[f], f).toEqual(before[f]);
    expect(after['config.yaml']?.sha256).not.toBe(before['config.yaml']?.sha256);
    expect(after['postgres.yaml']?.sha256).not.toBe(before['postgres.yaml']?.sha256);
  });

  test('refuses to write when a file changed on disk after planning, and writes nothing', () => {
    const dir = copyFixture('sentinel');
    const plan = planEdits(loadManifestTree(dir, { base: dir }), TUNE_EDITS);
    writeFileSync(
      path.join(dir, 'worker.yaml'),
      `${readFileSync(path.join(dir, 'worker.yaml'), 'utf8')}# edited meanwhile\n`,
    );
    const before = snapshot(dir);
    expect(() => applyPlan(plan)).toThrow(
      /worker\.yaml changed on disk after it was read; no file was written/,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  test('an empty edit list plans nothing', () => {
    const dir = path.join(FIXTURES, 'sentinel');
    const plan = planEdits(loadManifestTree(dir, { base: dir }), []);
    expect(plan).toEqual({ base: dir, files: [], changes: [], warnings: [], refusals: [] });
  });
});

describe('applyPlan and symlinks', () => {
  test('a symlinked manifest is written at its target and stays a symlink', () => {
    const dir = copyFixture('sentinel');
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    renameSync(path.join(dir, 'config.yaml'), path.join(shared, 'config.yaml'));
    symlinkSync(path.join('shared', 'config.yaml'), path.join(dir, 'config.yaml'));
    const tree = loadManifestTree(path.join(dir, 'config.yaml'), { base: dir });
    applyPlan(planEdits(tree, [{ op: 'set-max-connections', value: 170 }]));
    expect(lstatSync(path.join(dir, 'config.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(shared, 'config.yaml'), 'utf8')).toContain(
      'max_connections = 170          # see the tuning guide',
    );
  });
});
