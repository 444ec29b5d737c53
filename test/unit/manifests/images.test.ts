import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { POSTGRES_IMAGE, RABBITMQ_IMAGE, REDIS_IMAGE } from '../../../src/manifests/images.js';
import { loadManifestTree, planEdits } from '../../../src/manifests/index.js';

describe('one image matcher per server', () => {
  test.each([
    ['postgres:16', POSTGRES_IMAGE, true],
    ['docker.io/library/postgres@sha256:abc', POSTGRES_IMAGE, true],
    ['postgis/postgis:16-3.4', POSTGRES_IMAGE, true],
    ['bitnami/postgresql:16', POSTGRES_IMAGE, true],
    ['ghcr.io/cloudnative-pg/postgresql:16.2', POSTGRES_IMAGE, true],
    ['prometheuscommunity/postgres-exporter:v0.15.0', POSTGRES_IMAGE, false],
    ['redis:7', REDIS_IMAGE, true],
    ['valkey/valkey:8', REDIS_IMAGE, true],
    ['oliver006/redis_exporter', REDIS_IMAGE, false],
    ['rabbitmq:3.13-management', RABBITMQ_IMAGE, true],
    ['kbudde/rabbitmq-exporter', RABBITMQ_IMAGE, false],
  ])('%s', (image, re, matches) => {
    expect(re.test(image)).toBe(matches);
  });
});

describe('a postgis database is the database for the max_connections edit too', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-postgis-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('max_connections set nowhere: added to the postgis container, not refused as "no PostgreSQL"', () => {
    writeFileSync(
      path.join(dir, 'postgres.yaml'),
      [
        'apiVersion: apps/v1',
        'kind: StatefulSet',
        'metadata:',
        '  name: db',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: db',
        '          image: postgis/postgis:16-3.4',
        '',
      ].join('\n'),
    );
    const plan = planEdits(loadManifestTree(dir, { base: dir }), [{ op: 'set-max-connections', value: 273 }]);
    expect(plan.refusals).toEqual([]);
    expect(plan.files.map((f) => f.display)).toEqual(['postgres.yaml']);
    expect(plan.files[0]!.after).toContain('max_connections=273');
  });
});
