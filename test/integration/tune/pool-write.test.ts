import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { TuneResult } from '../../../src/tune-command/types.js';
import { cli, cliJson, repoRoot } from '../../helpers/cli.js';
import { expectGolden, snapshot } from '../../helpers/files.js';

const FIXTURES = path.join(repoRoot, 'test/fixtures');

const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-tune-pool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copy(from: string, name: string): string {
  const dir = path.join(work, name);
  cpSync(path.join(FIXTURES, from), dir, { recursive: true });
  return dir;
}

// Secrets of the fixture: the passwords, and the base64 Secret value that holds one.
const SECRETS = [
  'dev-pw',
  's3cr%40t',
  'w0rker-pw',
  'r3dis-pw',
  'jwt-signing-key',
  'cG9zdGdyZXM6Ly93b3JrZXI6',
];

describe('tune pool --write over the Sentinel fixture tree (built binary)', () => {
  const dir = copy('manifests/sentinel', 'sentinel');
  chmodSync(path.join(dir, 'secrets.yaml'), 0o600);
  const args = [
    'tune',
    'pool',
    '--manifests',
    'sentinel',
    '--cpus',
    '4',
    '--memory',
    '8Gi',
    '--profile',
    'prod',
  ];
  const before = snapshot(dir);

  test('--dry-run prints the commented, masked diff (checked in) and writes nothing', async () => {
    const r = await cli([...args, '--dry-run'], { cwd: work });
    expect(r.exitCode).toBe(0);
    expectGolden(`tune/pool-prod.diff`, r.stdout);
    for (const s of SECRETS) expect(r.stdout).not.toContain(s);
    expect(r.stderr).toContain('Dry run: 6 file(s) would change; nothing was written.');
    expect(snapshot(dir)).toEqual(before);
  });

  test('--write applies exactly that: every file as checked in, modes kept', async () => {
    const r = await cliJson<TuneResult>([...args, '--write'], { cwd: work });
    expect(r.exitCode).toBe(0);
    const w = r.json.result.write!;
    expect(w.mode).toBe('write');
    expect(w.unchanged).toBe(false);
    expect(w.written).toEqual([
      'sentinel/.env',
      'sentinel/api.yaml',
      'sentinel/config.yaml',
      'sentinel/postgres.yaml',
      'sentinel/secrets.yaml',
      'sentinel/worker.yaml',
    ]);
    for (const s of SECRETS) expect(r.stdout).not.toContain(s);
    for (const name of readdirSync(dir)) {
      expectGolden(`tune/pool-prod.after/${name}`, readFileSync(path.join(dir, name), 'utf8'));
    }
    expect(statSync(path.join(dir, 'secrets.yaml')).mode & 0o777).toBe(0o600);
    expect(
      r.json.result.rows.map((x) => [x.setting, x.component, x.current ?? null, x.recommended, x.status]),
    ).toEqual([
      ['WORKER_POOL_SIZE', 'worker', '4', '4', 'same'],
      ['resources.requests.cpu', 'worker', null, '2', 'unknown'],
      ['resources.requests.memory', 'worker', null, '1Gi', 'unknown'],
      ['resources.limits.cpu', 'worker', null, '4', 'unknown'],
      ['resources.limits.memory', 'worker', null, '2Gi', 'unknown'],
      ['pool_max_conns', 'api DATABASE_URL', '4', '20', 'change'],
      ['pool_min_conns', 'api DATABASE_URL', null, '5', 'unknown'],
      ['pool_max_conns', 'worker DATABASE_URL', '4', '4', 'same'],
      ['max_connections', 'postgresql', '100', '273', 'change'],
      ['max_workers', 'KEDA × pool', null, '200', 'info'],
    ]);
    expect(r.json.result.rows.find((x) => x.setting === 'max_connections')?.reason).toBe(
      '3 API × 20 + max(50 workers × 2, 50 max replicas × 4 pool) + 10 = 60 + 200 + 10 = 270 (API pools and executions are open at once; every execution at maxReplicaCount may hold a connection) + 3 superuser_reserved_connections = 273',
    );
  });

  test('a second --write changes nothing and says so', async () => {
    const after = snapshot(dir);
    const r = await cliJson<TuneResult>([...args, '--write'], { cwd: work });
    expect(r.exitCode).toBe(0);
    expect(r.json.result.write).toMatchObject({ unchanged: true, written: [], files: [] });
    expect(snapshot(dir)).toEqual(after);
    const text = await cli([...args, '--write'], { cwd: work });
    expect(text.stderr).toContain('Nothing to change: the files already hold every recommendation.');
    const dry = await cli([...args, '--dry-run'], { cwd: work });
    expect(dry.stdout).toBe('');
    expect(snapshot(dir)).toEqual(after);
  });

  test('without --profile, the API replicas pick the guide row: 3 → prod, and prod is what is written', async () => {
    const r = await cliJson<TuneResult>(
      ['tune', 'pool', '--manifests', 'sentinel', '--cpus', '4', '--memory', '8Gi', '--dry-run'],
      { cwd: work },
    );
    expect(r.json.result.profile).toBe('prod');
    expect(r.json.result.facts.find((f) => f.name === 'profile')?.detail).toBe(
      "inferred: 3 API replicas is the prod row of the guide's pool table (pass --profile to choose)",
    );
    expect(r.json.result.write?.unchanged).toBe(true);
  });

  test('tune check on the result: the pools fit, the AMQP trigger is still reported (exit 1)', async () => {
    const r = await cliJson<{ findings: Array<{ id: string; severity: string }>; passed: string[] }>(
      ['tune', 'check', '--manifests', 'sentinel'],
      { cwd: work },
    );
    expect(r.exitCode).toBe(1);
    expect(r.json.error?.code).toBe('CHECK_FINDINGS');
    expect(r.json.result.findings.map((f) => [f.id, f.severity])).toEqual([
      ['keda-trigger-protocol', 'error'],
    ]);
    expect(r.json.result.passed).toEqual(
      expect.arrayContaining([
        'pools-vs-max-connections',
        'max-workers-vs-max-connections',
        'worker-resources-vs-pool',
      ]),
    );
  });
});

describe('flag rules live in the flag definitions', () => {
  test.each<[string, string[], string]>([
    ['--write without a target', ['tune', 'pool', '--write'], 'manifests'],
    ['--write with --dry-run', ['tune', 'pool', '--manifests', '.', '--write', '--dry-run'], '--dry-run'],
    ['--disk without --db-cpus', ['tune', 'pool', '--disk', 'ssd'], 'db-cpus'],
  ])('%s → exit 2', async (_name, args, mention) => {
    const r = await cli(args, { cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(mention);
  });
});

/** stderr is wrapped to the terminal (80 columns here): the message as one line. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ');

describe('malformed input: exit 2 with file:line:column, every file byte-identical', () => {
  test.each<[string, string]>([
    [
      'bad-indent',
      'bad-indent/deployment.yaml:14:1: A block sequence may not be used as an implicit map key',
    ],
    [
      'duplicate-key',
      'duplicate-key/configmap.yaml:8:3: key "WORKER_POOL_SIZE" is given twice in the same map',
    ],
    ['bad-env', 'bad-env/.env:3:1: expected KEY=VALUE, found "this line is not an assignment"'],
  ])('%s', async (name, problem) => {
    const dir = copy(`manifests/malformed/${name}`, name);
    const before = snapshot(dir);
    const r = await cli(['tune', 'pool', '--manifests', name, '--cpus', '2', '--memory', '4Gi', '--write'], {
      cwd: work,
    });
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toContain(problem);
    expect(r.stderr).toContain('no file was changed');
    expect(snapshot(dir)).toEqual(before);
    const j = await cliJson(['tune', 'pool', '--manifests', name, '--write'], { cwd: work });
    expect(j.exitCode).toBe(2);
    expect(j.json.error?.code).toBe('MANIFEST_PARSE');
    expect(snapshot(dir)).toEqual(before);
  });

  // The Sentinel tree with one file broken: each is a file tune must read.
  test.each<[string, string, string, string, string]>([
    [
      'tab indentation in a ConfigMap',
      'config.yaml',
      'data:\n  WORKER_POOL_SIZE',
      'data:\n\tWORKER_POOL_SIZE',
      'config.yaml:7:1: Tabs are not allowed as indentation',
    ],
    [
      'an unclosed quote in a Secret',
      'secrets.yaml',
      "6379/0'",
      '6379/0',
      "secrets.yaml:20:14: ' quote opened here is never closed",
    ],
    [
      'bad indentation in the worker',
      'worker.yaml',
      '        - name: DATABASE_URL',
      '         - name: DATABASE_URL',
      'worker.yaml:30:10: All sequence items must start at the same column',
    ],
    [
      'a duplicate key in the API',
      'api.yaml',
      '  replicas: 3 # guide: production = 3\n',
      '  replicas: 3 # guide: production = 3\n  replicas: 4\n',
      'api.yaml:14:3: key "replicas" is given twice in the same map',
    ],
  ])('%s', async (_name, file, from, to, problem) => {
    const dirName = `broken-${file.replace('.yaml', '')}`;
    const dir = copy('manifests/sentinel', dirName);
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text).toContain(from);
    writeFileSync(path.join(dir, file), text.replace(from, to));
    const before = snapshot(dir);
    const r = await cli(
      ['tune', 'pool', '--manifests', dirName, '--cpus', '4', '--memory', '8Gi', '--write'],
      {
        cwd: work,
      },
    );
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toContain(`${dirName}/${problem}`);
    expect(r.stderr).toContain('no file was changed');
    expect(snapshot(dir)).toEqual(before);
  });

  test('a broken file that holds nothing tune reads is not parsed, and nothing is written', async () => {
    const dir = copy('manifests/malformed/tab-indent', 'unrelated-tab');
    const before = snapshot(dir);
    const r = await cliJson<TuneResult>(['tune', 'pool', '--manifests', 'unrelated-tab', '--write'], {
      cwd: work,
    });
    expect(r.exitCode).toBe(0);
    expect(r.json.result.facts.find((f) => f.name === 'manifests.files')?.value).toBe(
      '0 of 2 YAML files parsed',
    );
    expect(r.json.result.write?.unchanged).toBe(true);
    expect(snapshot(dir)).toEqual(before);
  });
});
