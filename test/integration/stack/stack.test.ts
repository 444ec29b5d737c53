import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, cliJson, cliProcess } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';

// Ports: defaults + 11000 (16432, 16672, 26672, ...): below the ephemeral range, clear of a dev stack.
const OFFSET = testOffset('stack');
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-stack-'));
chmodSync(stateDir, 0o755);
const common = ['--state-dir', stateDir, '--port-offset', String(OFFSET)];

interface UpJson {
  services: Array<{
    name: string;
    action: string;
    pid: number;
    ports: Array<{ name: string; port: number }>;
    version: string;
  }>;
}
interface StatusJson {
  healthy: boolean;
  services: Array<{
    name: string;
    state: string;
    pid: number | null;
    healthy: boolean;
    version: string | null;
  }>;
}

/** Every pid whose command line mentions this state dir or one of its ports (what `down` must leave at zero). */
function processesOfStack(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (cmd.includes('vitest')) continue;
    if (
      cmd.includes(stateDir) ||
      cmd.includes(`-port ${4369 + OFFSET}`) ||
      cmd.includes(`127.0.0.1:${6379 + OFFSET}`)
    ) {
      found.push(`${entry}: ${cmd.slice(0, 120)}`);
    }
  }
  return found;
}

const credentials = () => JSON.parse(readFileSync(path.join(stateDir, 'credentials.json'), 'utf8'));

describe('the local stack through the real binary', () => {
  let first: UpJson;

  beforeAll(async () => {
    const r = await cliJson<UpJson>(['up', ...common]);
    expect(r.exitCode, r.stderr).toBe(0);
    first = r.json.result;
  });

  afterAll(async () => {
    await cli(['down', ...common]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('up starts PostgreSQL, RabbitMQ, Redis, the worker and the API', () => {
    expect(first.services.map((s) => [s.name, s.action])).toEqual([
      ['postgres', 'started'],
      ['rabbitmq', 'started'],
      ['redis', 'started'],
      ['worker', 'started'],
      ['api', 'started'],
    ]);
    expect(first.services.find((s) => s.name === 'postgres')?.version).toMatch(/^15\./);
  });

  test('PostgreSQL: execution_jobs exists with the contract columns, as role sentinel over TCP', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: 5432 + OFFSET,
      user: 'sentinel',
      password: credentials().postgres,
      database: 'sentinel',
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'execution_jobs' ORDER BY ordinal_position`,
      );
      expect(rows.map((r) => r.column_name)).toEqual([
        'job_id',
        'language',
        'source_code',
        'stdin',
        'stdout',
        'stderr',
        'status',
        'exit_code',
        'time_used_ms',
        'memory_used_kb',
        'time_limit_ms',
        'memory_limit_kb',
        'created_at',
        'updated_at',
      ]);
      const inserted = await client.query<{ status: string; time_limit_ms: number }>(
        `INSERT INTO execution_jobs (job_id, language, source_code) VALUES (gen_random_uuid(), 'python', 'print(1)') RETURNING status, time_limit_ms`,
      );
      expect(inserted.rows[0]).toEqual({ status: 'QUEUED', time_limit_ms: 5000 });
      const migrations = await client.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(migrations.rows).toEqual([{ version: 1 }, { version: 2 }]);
      const maxConn = await client.query('SHOW max_connections');
      expect(maxConn.rows[0].max_connections).toBe('100');
    } finally {
      await client.end();
    }
  });

  test('Redis: PING, and maxmemory / policy / appendonly from the config', async () => {
    const redis = new Redis({
      host: '127.0.0.1',
      port: 6379 + OFFSET,
      password: credentials().redis,
      lazyConnect: true,
    });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'maxmemory')).toEqual(['maxmemory', String(128 * 1024 * 1024)]);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    } finally {
      redis.disconnect();
    }
  });

  test('RabbitMQ: execution_tasks is a quorum queue with its dead-letter exchange', async () => {
    const { rabbitmq: password } = credentials();
    const conn = await amqp.connect(
      `amqp://sentinel:${encodeURIComponent(password)}@127.0.0.1:${5672 + OFFSET}/%2F`,
    );
    try {
      const ch = await conn.createChannel();
      const q = await ch.checkQueue('execution_tasks');
      expect(q.queue).toBe('execution_tasks');
      await ch.checkExchange('dlx.execution_tasks');
      await ch.close();
    } finally {
      await conn.close();
    }
    const res = await fetch(`http://127.0.0.1:${15672 + OFFSET}/api/queues/%2F/execution_tasks`, {
      headers: { authorization: `Basic ${Buffer.from(`sentinel:${password}`).toString('base64')}` },
    });
    const queue = (await res.json()) as {
      type: string;
      durable: boolean;
      arguments: Record<string, unknown>;
    };
    expect(queue.type).toBe('quorum');
    expect(queue.durable).toBe(true);
    expect(queue.arguments['x-dead-letter-exchange']).toBe('dlx.execution_tasks');
    expect(queue.arguments['x-dead-letter-routing-key']).toBe('execution_tasks.dlq');
    // The Prometheus plugin answers too (diagnose reads it).
    const metrics = await fetch(`http://127.0.0.1:${15692 + OFFSET}/metrics`);
    expect(metrics.status).toBe(200);
  });

  test('a second up is a no-op: same pids, nothing started', async () => {
    const r = await cliJson<UpJson>(['up', ...common]);
    expect(r.exitCode).toBe(0);
    expect(r.json.result.services.map((s) => s.action)).toEqual(Array(5).fill('already-running'));
    expect(r.json.result.services.map((s) => s.pid)).toEqual(first.services.map((s) => s.pid));
  });

  test('status --json parses and reports each service healthy with its version', async () => {
    const r = await cliJson<StatusJson>(['status', ...common]);
    expect(r.exitCode).toBe(0);
    expect(r.json.status).toBe(0);
    expect(r.json.result.healthy).toBe(true);
    expect(r.json.result.services.map((s) => [s.name, s.state, s.healthy])).toEqual([
      ['postgres', 'running', true],
      ['rabbitmq', 'running', true],
      ['redis', 'running', true],
      ['worker', 'running', true],
      ['api', 'running', true],
    ]);
    expect(r.json.result.services.find((s) => s.name === 'rabbitmq')?.version).toMatch(/^3\./);
  });

  test('logs shows the service log', async () => {
    const r = await cli(['logs', 'postgres', '--lines', '200', ...common]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('database system is ready to accept connections');
  });

  test('a port held by another process → exit 3 naming the port and the holder', async () => {
    const otherState = mkdtempSync(path.join(os.tmpdir(), 'sentinel-taken-'));
    const blocker = net.createServer();
    const port = 6379 + OFFSET + 1;
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const r = await cli([
        'up',
        '--services',
        'redis',
        '--state-dir',
        otherState,
        '--port-offset',
        String(OFFSET + 1),
      ]);
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain(`Port ${port} (redis resp) is taken by node (pid ${process.pid}).`);
      expect(r.stderr).toContain('--port-offset');
    } finally {
      blocker.close();
      rmSync(otherState, { recursive: true, force: true });
    }
  });

  test('a corrupt config → exit 2 naming file, key path and reason; nothing starts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-badcfg-'));
    writeFileSync(
      path.join(dir, 'sentinel.config.yaml'),
      'redis:\n  maxmemory: 128mb\n  appendonly: sometimes\n',
    );
    const r = await cli(['up', '--state-dir', path.join(dir, 'state')], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('sentinel.config.yaml:3: redis.appendonly');
    expect(r.stderr.replace(/\s+/g, ' ')).toMatch(/expected boolean/); // wrapped to the terminal
    const json = await cliJson(['status', '--state-dir', path.join(dir, 'state')], { cwd: dir });
    expect(json.exitCode).toBe(2);
    expect(json.json.error?.code).toBe('CONFIG_INVALID');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a missing binary → exit 3 pointing at setup', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-nobin-'));
    writeFileSync(path.join(dir, 'sentinel.config.yaml'), 'postgres:\n  binDir: /opt/no-such-postgres/bin\n');
    const r = await cli(
      [
        'up',
        '--services',
        'postgres',
        '--state-dir',
        path.join(dir, 's'),
        '--port-offset',
        String(testOffset('stackPostgresOnly')),
      ],
      { cwd: dir },
    );
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('Missing /opt/no-such-postgres/bin/postgres');
    expect(r.stderr).toContain('sentinel-ctl setup');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a service that fails to start → its log tail, and the others stopped again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-fail-'));
    writeFileSync(path.join(dir, 'sentinel.config.yaml'), 'postgres:\n  sharedBuffers: 4000GB\n');
    const state = path.join(dir, 's');
    const r = await cli(
      [
        'up',
        '--services',
        'postgres,redis',
        '--state-dir',
        state,
        '--port-offset',
        String(testOffset('stackTwoServices')),
      ],
      { cwd: dir },
    );
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/postgres exited during start-up/);
    expect(r.stderr).toMatch(/shared_buffers|shared memory/);
    const s = await cliJson<StatusJson>(
      ['status', '--state-dir', state, '--port-offset', String(testOffset('stackTwoServices'))],
      {
        cwd: dir,
      },
    );
    expect(s.json.result.services.map((x) => [x.name, x.state])).toEqual([
      ['postgres', 'stopped'],
      ['rabbitmq', 'stopped'],
      ['redis', 'stopped'],
      ['worker', 'stopped'],
      ['api', 'stopped'],
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a stale pid file is detected, reported and cleared by up', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'sentinel-stale-'));
    const args = ['--state-dir', state, '--port-offset', String(testOffset('stackStale'))];
    await cli(['up', '--services', 'redis', ...args]);
    const record = JSON.parse(readFileSync(path.join(state, 'run', 'redis.json'), 'utf8'));
    process.kill(record.processes[0].pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const s = await cliJson<StatusJson>(['status', '--services', 'redis', ...args]);
    expect(s.json.result.services[0]).toMatchObject({ name: 'redis', state: 'stale', healthy: false });
    const again = await cli(['up', '--services', 'redis', ...args]);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('redis: removing a stale pid file');
    await cli(['down', ...args]);
    rmSync(state, { recursive: true, force: true });
  });

  test('Ctrl-C during up leaves nothing running', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'sentinel-sigint-'));
    const args = ['up', '--state-dir', state, '--port-offset', String(testOffset('stackSigint'))];
    const child = cliProcess(args);
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('redis: healthy')) resolve();
      });
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain('Interrupted');
    const leftovers = readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(state);
      } catch {
        return false;
      }
    });
    expect(leftovers).toEqual([]);
    expect(readdirSync(path.join(state, 'run'))).toEqual([]);
    rmSync(state, { recursive: true, force: true });
  });

  test('down stops everything up started and leaves no process behind', async () => {
    const pids = first.services.map((s) => s.pid);
    const r = await cliJson<{ services: Array<{ name: string; outcome: string }> }>(['down', ...common]);
    expect(r.exitCode).toBe(0);
    expect(r.json.result.services.map((s) => [s.name, s.outcome])).toEqual([
      ['postgres', 'graceful'],
      ['rabbitmq', 'graceful'],
      ['redis', 'graceful'],
      ['worker', 'graceful'],
      ['api', 'graceful'],
    ]);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(processesOfStack()).toEqual([]);
    const again = await cliJson<{ services: Array<{ outcome: string }> }>(['down', ...common]);
    expect(again.json.result.services.map((s) => s.outcome)).toEqual(Array(5).fill('not-running'));
  });
});
