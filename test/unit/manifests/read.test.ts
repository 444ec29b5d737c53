import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  effectiveEnv,
  findConnectionStrings,
  findMaxConnections,
  loadManifestTree,
  readConfigMaps,
  readScaledObjects,
  readSecrets,
  readWorkloads,
} from '../../../src/manifests/index.js';
import { FIXTURES } from './helpers.js';

const dir = path.join(FIXTURES, 'sentinel');
const tree = loadManifestTree(dir, { base: dir });

describe('loadManifestTree', () => {
  test('indexes every object of every document, .env files included', () => {
    expect(tree.objects.map((o) => `${o.kind}/${o.name} ${o.file}:${o.line} doc ${o.docIndex}`)).toEqual([
      'Deployment/sentinel-api api.yaml:4 doc 0',
      'Service/sentinel-api api.yaml:45 doc 1',
      'ConfigMap/sentinel-config config.yaml:1 doc 0',
      'ConfigMap/postgres-config config.yaml:12 doc 1',
      'ScaledObject/sentinel-worker keda.yaml:2 doc 0',
      'TriggerAuthentication/rabbitmq-auth keda.yaml:41 doc 1',
      'StatefulSet/postgres postgres.yaml:1 doc 0',
      'Secret/sentinel-db secrets.yaml:2 doc 0',
      'Secret/sentinel-secrets secrets.yaml:14 doc 1',
      'Secret/rabbitmq-conn secrets.yaml:24 doc 2',
      'Deployment/sentinel-worker worker.yaml:1 doc 0',
    ]);
    expect(tree.files.map((f) => `${f.type} ${f.display}`)).toEqual([
      'env .env',
      'yaml api.yaml',
      'yaml config.yaml',
      'yaml keda.yaml',
      'yaml postgres.yaml',
      'yaml secrets.yaml',
      'yaml worker.yaml',
    ]);
    expect(tree.objects.every((o) => o.namespace === 'sentinel')).toBe(true);
  });

  test('display paths are relative to the base (default: the current directory)', () => {
    const t = loadManifestTree(path.join(dir, 'api.yaml'), { base: FIXTURES });
    expect(t.files.map((f) => f.display)).toEqual(['sentinel/api.yaml']);
  });
});

describe('readWorkloads', () => {
  const ws = readWorkloads(tree);
  const api = ws.find((w) => w.object.name === 'sentinel-api')!;
  const worker = ws.find((w) => w.object.name === 'sentinel-worker')!;

  test('replicas and containers', () => {
    expect(ws.map((w) => [w.kind, w.object.name, w.replicas, w.containers.map((c) => c.name)])).toEqual([
      ['Deployment', 'sentinel-api', 3, ['api', 'metrics']],
      ['StatefulSet', 'postgres', 1, ['postgres']],
      ['Deployment', 'sentinel-worker', 2, ['worker']],
    ]);
  });

  test('resources as written and as numbers (cores, bytes)', () => {
    expect(api.containers[0]!.resources).toEqual({
      requests: { cpu: { raw: '250m', value: 0.25 }, memory: { raw: '256Mi', value: 256 * 2 ** 20 } },
      limits: { cpu: { raw: '1', value: 1 }, memory: { raw: '512Mi', value: 512 * 2 ** 20 } },
    });
    expect(worker.containers[0]!.resources).toEqual({ requests: {}, limits: {} });
  });

  test('env values, with configMapKeyRef / secretKeyRef resolved to where the value lives', () => {
    const c = worker.containers[0]!;
    const pool = effectiveEnv(c, 'WORKER_POOL_SIZE')!;
    expect(pool).toMatchObject({ from: 'configMapKeyRef', value: '4', resolved: true, secret: false });
    expect(pool.sites).toMatchObject([
      { type: 'yaml', file: 'config.yaml', line: 7, path: ['data', 'WORKER_POOL_SIZE'] },
    ]);
    const db = effectiveEnv(c, 'DATABASE_URL')!;
    expect(db).toMatchObject({
      from: 'secretKeyRef',
      resolved: true,
      secret: true,
      ref: { kind: 'Secret', name: 'sentinel-db', key: 'DATABASE_URL' },
    });
    expect(db.value).toBe(
      'postgres://worker:w0rker-pw@postgres.sentinel.svc:5432/sentinel?sslmode=disable&pool_max_conns=4',
    );
    expect(db.sites).toMatchObject([{ file: 'secrets.yaml', line: 10, encoding: 'base64' }]);
    expect(effectiveEnv(c, 'RABBITMQ_PREFETCH')).toMatchObject({ from: 'value', value: '1' });
    // envFrom brings in the whole config map; explicit env wins over it.
    expect(c.envFrom.map((e) => e.name)).toEqual([
      'WORKER_POOL_SIZE',
      'LOG_FORMAT',
      'ANALYTICS_DATABASE_URL',
    ]);
    expect(effectiveEnv(c, 'LOG_FORMAT')).toMatchObject({ from: 'envFrom', value: 'json' });
    expect(effectiveEnv(c, 'WORKER_POOL_SIZE')?.from).toBe('configMapKeyRef');
    expect(effectiveEnv(c, 'NOPE')).toBeUndefined();
    expect(effectiveEnv(api.containers[0]!, 'REDIS_URL')).toMatchObject({
      secret: true,
      value: 'redis://:r3dis-pw@redis.sentinel.svc:6379/0',
    });
  });

  test('args and command', () => {
    const pg = ws.find((w) => w.object.name === 'postgres')!.containers[0]!;
    expect(pg.args).toEqual([
      '-c',
      'config_file=/etc/postgresql/postgresql.conf',
      '-c',
      'max_connections=100',
    ]);
    expect(pg.command).toEqual([]);
    expect(pg.image).toBe('postgres:16-alpine');
  });
});

describe('ConfigMaps and Secrets', () => {
  test('ConfigMap data', () => {
    expect(readConfigMaps(tree).map((c) => [c.object.name, Object.keys(c.values)])).toEqual([
      ['sentinel-config', ['WORKER_POOL_SIZE', 'LOG_FORMAT', 'ANALYTICS_DATABASE_URL']],
      ['postgres-config', ['postgresql.conf']],
    ]);
  });

  test('Secret stringData and decoded base64 data; binary data reported, not decoded', () => {
    const [db, app] = readSecrets(tree);
    expect(db!.values).toEqual({
      DATABASE_URL:
        'postgres://worker:w0rker-pw@postgres.sentinel.svc:5432/sentinel?sslmode=disable&pool_max_conns=4',
      POSTGRES_PASSWORD: 'w0rker-pw',
    });
    expect(db!.binary).toEqual(['ca.bin']);
    expect(app!.values).toEqual({
      REDIS_URL: 'redis://:r3dis-pw@redis.sentinel.svc:6379/0',
      JWT_SECRET: 'jwt-signing-key-do-not-print',
    });
  });
});

describe('readScaledObjects', () => {
  test('polling, cooldown, replica bounds, triggers and HPA behavior', () => {
    const [so] = readScaledObjects(tree);
    expect({ ...so, object: so!.object.name }).toEqual({
      object: 'sentinel-worker',
      scaleTargetRef: { name: 'sentinel-worker' },
      pollingInterval: 5,
      cooldownPeriod: 60,
      minReplicaCount: 2,
      maxReplicaCount: 50,
      idleReplicaCount: 0,
      triggers: [
        {
          type: 'rabbitmq',
          metadata: { protocol: 'amqp', queueName: 'execution_tasks', mode: 'QueueLength', value: '15' },
          authenticationRef: { name: 'rabbitmq-auth' },
          line: 32,
        },
      ],
      behavior: {
        scaleUp: {
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 5, periodSeconds: 30 },
            { type: 'Percent', value: 100, periodSeconds: 30 },
          ],
        },
        scaleDown: {
          stabilizationWindowSeconds: 120,
          policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }],
        },
      },
    });
  });
});

describe('findMaxConnections', () => {
  test('in a postgresql.conf ConfigMap key and in -c args', () => {
    expect(
      findMaxConnections(tree).map((s) => [s.where, s.value, `${s.file}:${s.line}`, s.key ?? s.container]),
    ).toEqual([
      ['postgresql.conf', 100, 'config.yaml:21', 'postgresql.conf'],
      ['args', 100, 'postgres.yaml:22', 'postgres'],
    ]);
  });
});

describe('findConnectionStrings', () => {
  test('every DATABASE_URL, where it lives, its pool params, who reads it; passwords masked', () => {
    const { sites, unresolved } = findConnectionStrings(tree);
    expect(
      sites.map((s) => [
        s.where,
        `${s.file}:${s.line}`,
        s.masked,
        s.params,
        s.usedBy.map((u) => `${u.workload.name}/${u.container}`),
      ]),
    ).toEqual([
      [
        'secret-data',
        'secrets.yaml:10',
        'postgres://worker:****@postgres.sentinel.svc:5432/sentinel?sslmode=disable&pool_max_conns=4',
        { pool_max_conns: 4 },
        ['sentinel-worker/worker'],
      ],
      [
        'env-file',
        '.env:3',
        'postgres://sentinel:****@localhost:5432/sentinel?sslmode=disable&pool_max_conns=10&pool_min_conns=2',
        { pool_max_conns: 10, pool_min_conns: 2 },
        [],
      ],
      [
        'env-value',
        'api.yaml:27',
        'postgres://sentinel:****@postgres.sentinel.svc:5432/sentinel?sslmode=disable&pool_max_conns=4&application_name=sentinel-api',
        { pool_max_conns: 4 },
        ['sentinel-api/api'],
      ],
    ]);
    expect(unresolved).toEqual([]);
  });

  test('other variable names on request', () => {
    const { sites } = findConnectionStrings(tree, ['ANALYTICS_DATABASE_URL']);
    expect(sites.map((s) => [s.where, s.params, s.usedBy.map((u) => u.container)])).toEqual([
      ['configmap', { pool_max_conns: 2 }, ['worker']],
    ]);
  });
});
