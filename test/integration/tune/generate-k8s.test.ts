import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { GenerateK8sResult } from '../../../src/generate/k8s.js';
import { validateObject } from '../../../src/generate/validate.js';
import type { TuneCheckResult } from '../../../src/tune-command/topic-check.js';
import type { TuneResult } from '../../../src/tune-command/types.js';
import { cli, cliJson } from '../../helpers/cli.js';
import { expectGolden } from '../../helpers/files.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-generate-k8s-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const YAML_FILES = [
  '00-namespace.yaml',
  '01-secrets.yaml',
  '02-configmaps.yaml',
  '03-postgres.yaml',
  '04-rabbitmq.yaml',
  '05-redis.yaml',
  '06-api.yaml',
  '07-worker.yaml',
  '08-ingress.yaml',
  '09-keda.yaml',
  '10-networkpolicies.yaml',
  'kustomization.yaml',
  // The CLI's own roles, outside the kustomization (applied once by a cluster admin).
  'rbac/sentinel-ctl.yaml',
];

describe.each<[string, Record<string, string>]>([
  [
    'dev',
    { WORKER_POOL_SIZE: '2', max_connections: '51', 'KEDA maxReplicaCount': '4', 'api pool_max_conns': '10' },
  ],
  [
    'staging',
    {
      WORKER_POOL_SIZE: '4',
      max_connections: '143',
      'KEDA maxReplicaCount': '10',
      'api pool_max_conns': '15',
    },
  ],
  [
    'prod',
    {
      WORKER_POOL_SIZE: '4',
      max_connections: '413',
      'KEDA maxReplicaCount': '50',
      'api pool_max_conns': '20',
    },
  ],
])('generate k8s --profile %s (built binary)', (profile, expected) => {
  const out = path.join(work, profile);

  test('renders every object of the deployment guide, valid against the schemas, with tuned values', async () => {
    const r = await cliJson<GenerateK8sResult>(['generate', 'k8s', '--profile', profile, '--out', out]);
    expect(r.exitCode).toBe(0);
    expect(r.json.result.validated).toBe(48);
    expect(r.json.result.files.map((f) => f.file)).toEqual([
      ...YAML_FILES,
      'nsjail/python.cfg',
      'nsjail/cpp-compile.cfg',
      'nsjail/cpp.cfg',
    ]);
    const tuned = Object.fromEntries(r.json.result.tuned.map((t) => [t.name, t.value]));
    for (const [name, value] of Object.entries(expected)) expect(tuned[name]).toBe(value);
    expect(r.json.result.check.findings).toEqual([]);
  });

  test('every written object validates again, read back from disk', async () => {
    let objects = 0;
    for (const name of YAML_FILES.filter((f) => f !== 'kustomization.yaml')) {
      for (const doc of parseAllDocuments(readFileSync(path.join(out, name), 'utf8'))) {
        expect(doc.errors).toEqual([]);
        expect(await validateObject(doc.toJS())).toEqual([]);
        objects++;
      }
    }
    expect(objects).toBe(48);
  });

  test('tune check --manifests OUT passes', async () => {
    const r = await cliJson<TuneCheckResult>(['tune', 'check', '--manifests', out, '--profile', profile]);
    expect(r.exitCode).toBe(0);
    expect(r.json.result.findings).toEqual([]);
    expect(r.json.result.passed).toEqual(
      expect.arrayContaining([
        'pools-vs-max-connections',
        'max-workers-vs-max-connections',
        'worker-resources-vs-pool',
        'worker-pool-vs-capacity',
        'keda-trigger',
        'redis',
      ]),
    );
  });

  test.each(['pool', 'keda', 'rabbitmq'])(
    'tune %s agrees with the generator: nothing to change',
    async (topic) => {
      const r = await cliJson<TuneResult>([
        'tune',
        topic,
        '--manifests',
        out,
        '--profile',
        profile,
        '--dry-run',
      ]);
      expect(r.exitCode).toBe(0);
      expect(r.json.result.write?.unchanged).toBe(true);
    },
  );
});

describe('generate k8s output', () => {
  const prod = path.join(work, 'prod');

  test('prod is as checked in (tuned values with their reasons in comments)', () => {
    for (const name of YAML_FILES) {
      expectGolden(`generate/prod/${name}`, readFileSync(path.join(prod, name), 'utf8'));
    }
  });

  test('secrets are placeholders, referenced by the workloads and never in a ConfigMap', () => {
    const secrets = readFileSync(path.join(prod, '01-secrets.yaml'), 'utf8');
    expect(secrets).toContain('PLACEHOLDER SECRETS');
    expect(secrets.match(/REPLACE_ME/g)?.length).toBe(12);
    const configmaps = readFileSync(path.join(prod, '02-configmaps.yaml'), 'utf8');
    expect(configmaps).not.toMatch(/password|REPLACE_ME|postgres:\/\//i);
    const api = readFileSync(path.join(prod, '06-api.yaml'), 'utf8');
    expect(api).toContain(
      'secretKeyRef:\n                  name: api-secrets\n                  key: DATABASE_URL',
    );
  });

  test('a non-empty --out is refused without --force (exit 2), and overwritten with it', async () => {
    const target = path.join(work, 'taken');
    mkdirSync(target);
    writeFileSync(path.join(target, 'notes.txt'), 'mine\n');
    const refused = await cliJson(['generate', 'k8s', '--profile', 'dev', '--out', target]);
    expect(refused.exitCode).toBe(2);
    expect(refused.json.error?.code).toBe('OUT_NOT_EMPTY');
    expect(readdirSync(target)).toEqual(['notes.txt']);
    const forced = await cli(['generate', 'k8s', '--profile', 'dev', '--out', target, '--force']);
    expect(forced.exitCode).toBe(0);
    expect(readFileSync(path.join(target, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(readdirSync(target)).toContain('kustomization.yaml');
  });
});
