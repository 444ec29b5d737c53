import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { describeConfig } from '../../../src/config/show.js';
import { UserError } from '../../../src/lib/errors.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sentinel-config-'));

function withFile(yaml: string) {
  const dir = tmp();
  writeFileSync(path.join(dir, 'sentinel.config.yaml'), yaml);
  return dir;
}

function loadError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('expected a UserError');
}

describe('defaults and profiles', () => {
  test('no file: the guides defaults', () => {
    const { config, sources } = loadConfig({ cwd: tmp(), env: {} });
    expect(config.ports).toEqual({
      postgres: 5432,
      rabbitmq: 5672,
      rabbitmqManagement: 15672,
      rabbitmqPrometheus: 15692,
      rabbitmqDist: 5673,
      epmd: 4369,
      redis: 6379,
      api: 8080,
      workerMetrics: 9090,
      prometheus: 9091,
    });
    expect(config.redis).toEqual({ maxmemory: '128mb', maxmemoryPolicy: 'allkeys-lru', appendonly: true });
    expect(config.rabbitmq.vmMemoryHighWatermark).toBe(0.6);
    expect(config.rabbitmq.diskFreeLimit).toBe('1GB');
    expect(config.worker.poolSize).toBe(4);
    expect(config.api.rateLimit).toBe(100);
    expect(sources.get('ports.redis')).toEqual({ layer: 'default' });
  });

  test.each([
    ['dev', 1, 10, 100, 'debug', 100],
    ['staging', 2, 15, 500, 'release', 100],
    ['prod', 3, 20, 1000, 'release', 300],
  ] as const)(
    'profile %s: %i API replicas × pool %i, rate limit %i, %s, max_connections %i',
    (profile, replicas, pool, rate, gin, maxConn) => {
      const { config, sources } = loadConfig({ cwd: tmp(), env: { SENTINEL_PROFILE: profile } });
      expect(config.api.replicas).toBe(replicas);
      expect(config.api.poolMaxConns).toBe(pool);
      expect(config.api.rateLimit).toBe(rate);
      expect(config.api.ginMode).toBe(gin);
      expect(config.postgres.maxConnections).toBe(maxConn);
      expect(sources.get('api.poolMaxConns')?.layer).toBe(profile === 'dev' ? 'default' : 'profile');
    },
  );
});

describe('precedence flag > env > file > profile > default', () => {
  const dir = withFile(
    'profile: prod\nports:\n  api: 8181\napi:\n  poolMaxConns: 25\nworker:\n  poolSize: 6\n',
  );

  test('file beats profile and default', () => {
    const { config, sources } = loadConfig({ cwd: dir, env: {} });
    expect(config.api.poolMaxConns).toBe(25);
    expect(config.api.replicas).toBe(3);
    expect(sources.get('api.poolMaxConns')).toEqual({
      layer: 'file',
      detail: expect.stringContaining('sentinel.config.yaml'),
    });
  });

  test('env beats file, with the guides variable names', () => {
    const { config, sources } = loadConfig({
      cwd: dir,
      env: { API_PORT: '9191', WORKER_POOL_SIZE: '8', API_WRITE_TIMEOUT: '45s' },
    });
    expect(config.ports.api).toBe(9191);
    expect(config.worker.poolSize).toBe(8);
    expect(config.api.writeTimeoutMs).toBe(45_000);
    expect(sources.get('worker.poolSize')).toEqual({ layer: 'env', detail: 'WORKER_POOL_SIZE' });
  });

  test('the upstream alias POOL_SIZE works when WORKER_POOL_SIZE is absent', () => {
    expect(loadConfig({ cwd: dir, env: { POOL_SIZE: '3' } }).config.worker.poolSize).toBe(3);
    expect(
      loadConfig({ cwd: dir, env: { POOL_SIZE: '3', WORKER_POOL_SIZE: '5' } }).config.worker.poolSize,
    ).toBe(5);
  });

  test('flags beat env', () => {
    const { config, sources } = loadConfig({
      cwd: dir,
      env: { SENTINEL_PORT_OFFSET: '100', SENTINEL_PROFILE: 'staging' },
      flags: [
        { path: 'portOffset', value: 20000, flag: '--port-offset' },
        { path: 'profile', value: 'dev', flag: '--profile' },
      ],
    });
    expect(config.portOffset).toBe(20000);
    expect(config.profile).toBe('dev');
    expect(config.api.replicas).toBe(1);
    expect(sources.get('portOffset')).toEqual({ layer: 'flag', detail: '--port-offset' });
  });

  test('port offset shifts every port, and config show says so', () => {
    const loaded = loadConfig({
      cwd: dir,
      env: {},
      flags: [{ path: 'portOffset', value: 20000, flag: '--port-offset' }],
    });
    expect(loaded.config.ports.postgres).toBe(25432);
    expect(loaded.config.ports.api).toBe(28181);
    expect(loaded.basePorts.api).toBe(8181);
    const row = describeConfig(loaded).entries.find((e) => e.key === 'ports.api');
    expect(row?.source).toMatch(/file .*sentinel\.config\.yaml \(8181 \+ offset 20000\)/);
  });
});

describe('invalid input → UserError (exit 2) naming the file, line, key path and reason', () => {
  test.each([
    ['ports:\n  redis: "six"\n', /sentinel\.config\.yaml:2: ports\.redis: .*number/],
    ['ports:\n  redsi: 6379\n', /sentinel\.config\.yaml:2: ports\.redsi: unknown setting/],
    ['redis:\n  maxmemoryPolicy: lru\n', /sentinel\.config\.yaml:2: redis\.maxmemoryPolicy: .*allkeys-lru/],
    ['redis:\n  maxmemory: lots\n', /redis\.maxmemory: expected a Redis size such as 128mb or 1gb/],
    ['worker:\n  defaultTimeLimitMs: 20000\n', /worker\.defaultTimeLimitMs: .*10000/],
    ['ports: [1, 2\n', /sentinel\.config\.yaml:\d+:\d+: invalid YAML/],
    ['- just\n- a list\n', /expected a mapping of settings at the top level/],
    ['profile: qa\n', /profile: expected one of dev, staging, prod, got "qa"/],
  ])('%j', (yaml, message) => {
    const err = loadError(() => loadConfig({ cwd: withFile(yaml), env: {} }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
  });

  test('a bad environment value names the variable', () => {
    const err = loadError(() => loadConfig({ cwd: tmp(), env: { WORKER_POOL_SIZE: 'many' } }));
    expect(err.message).toBe(
      'environment variable WORKER_POOL_SIZE: worker.poolSize: cannot read "many" as int',
    );
  });

  test('an explicit --config that does not exist', () => {
    const err = loadError(() => loadConfig({ cwd: tmp(), env: {}, configFile: 'nope.yaml' }));
    expect(err.message).toBe('Config file nope.yaml does not exist.');
  });

  test('a port pushed past 65535 by the offset', () => {
    const err = loadError(() =>
      loadConfig({
        cwd: tmp(),
        env: {},
        flags: [{ path: 'portOffset', value: 50000, flag: '--port-offset' }],
      }),
    );
    expect(err.message).toBe('ports.rabbitmqManagement: 15672 + port offset 50000 = 65672 is above 65535');
  });
});

describe('credentials', () => {
  test('generated once per state dir, stored 0600 only when asked, stable afterwards', () => {
    const cwd = tmp();
    const first = loadConfig({ cwd, env: {} });
    expect(first.sources.get('credentials.postgres.password')?.layer).toBe('generated');
    const saved = loadConfig({ cwd, env: {}, persistCredentials: true });
    const file = path.join(cwd, '.sentinel', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored.redis).toBe(saved.config.credentials.redis.password);
    const again = loadConfig({ cwd, env: {} });
    expect(again.config.credentials.redis.password).toBe(stored.redis);
    expect(again.sources.get('credentials.redis.password')?.layer).toBe('state');
  });

  test('config show masks passwords', () => {
    const shown = describeConfig(
      loadConfig({ cwd: tmp(), env: { REDIS_URL: 'redis://:hunter2@db:6379/0' } }),
    );
    const text = JSON.stringify(shown);
    expect(text).not.toContain('hunter2');
    expect(shown.entries.find((e) => e.key === 'urls.redis')?.value).toBe('redis://:****@db:6379/0');
    expect(shown.entries.find((e) => e.key === 'credentials.postgres.password')?.value).toBe('****');
  });
});
