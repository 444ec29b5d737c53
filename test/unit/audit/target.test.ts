import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { auditTarget } from '../../../src/audit/target.js';
import { loadConfig } from '../../../src/config/load.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-audit-target-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(env: Record<string, string> = {}) {
  const stateDir = path.join(dir, 'state');
  mkdirSync(path.join(stateDir, 'run'), { recursive: true });
  writeFileSync(
    path.join(stateDir, 'credentials.json'),
    JSON.stringify({ postgres: 'pg-password-123', rabbitmq: 'mq-password-456', redis: 'redis-password-789' }),
  );
  return loadConfig({
    env,
    cwd: dir,
    flags: [
      { path: 'stateDir', value: stateDir, flag: '--state-dir' },
      { path: 'portOffset', value: 16_000, flag: '--port-offset' },
    ],
  });
}

const record = (service: string, pid: number) => ({
  service,
  startedAt: '2026-01-01T00:00:00.000Z',
  ports: [],
  processes: [{ role: 'server', pid, match: `${service} --state-dir` }],
});

describe('auditTarget', () => {
  test('a local stack: its passwords, ports, paths and the pids from the state dir', () => {
    const loaded = load();
    const stateDir = path.join(dir, 'state');
    writeFileSync(path.join(stateDir, 'run', 'worker.json'), JSON.stringify(record('worker', 4242)));
    writeFileSync(path.join(stateDir, 'run', 'api.json'), JSON.stringify(record('api', 4243)));
    const t = auditTarget(loaded);
    expect(t.apiUrl).toBe('http://127.0.0.1:24080');
    expect(t.secrets).toEqual([
      { label: 'PostgreSQL password', value: 'pg-password-123' },
      { label: 'RabbitMQ password', value: 'mq-password-456' },
      { label: 'Redis password', value: 'redis-password-789' },
      { label: 'DATABASE_URL password', value: 'pg-password-123' },
      { label: 'RABBITMQ_URL password', value: 'mq-password-456' },
      { label: 'RabbitMQ management password', value: 'mq-password-456' },
      { label: 'REDIS_URL password', value: 'redis-password-789' },
    ]);
    expect(t.processes.map((p) => [p.name, p.record.pid])).toEqual([
      ['worker', 4242],
      ['api', 4243],
    ]);
    expect(t.context).toEqual({
      ports: {
        postgres: 21_432,
        redis: 22_379,
        rabbitmq: 21_672,
        rabbitmqManagement: 31_672,
        api: 24_080,
        workerMetrics: 25_090,
      },
      stateDir,
      credentialsFile: path.join(stateDir, 'credentials.json'),
      configFile: undefined,
      postgresSocket: path.join(stateDir, 'postgres', 'socket', '.s.PGSQL.21432'),
      workerPid: 4242,
      apiPid: 4243,
      pidsLimit: 64,
      tmpfsMb: 64,
      hostHostname: os.hostname(),
    });
  });

  test('connection strings from the environment add their (decoded) passwords; --api-url wins', () => {
    const t = auditTarget(
      load({ DATABASE_URL: 'postgres://sentinel:other%2Fpass@db.internal:5432/sentinel' }),
      'http://api.internal:8080/',
    );
    expect(t.apiUrl).toBe('http://api.internal:8080');
    expect(t.secrets.find((s) => s.label === 'DATABASE_URL password')).toEqual({
      label: 'DATABASE_URL password',
      value: 'other/pass',
    });
    // No pid files: nothing to check on the host, and no pid probes in the programs.
    expect(t.processes).toEqual([]);
    expect(t.context.workerPid).toBeUndefined();
  });
});
