import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AuditReport } from '../../../src/audit/types.js';
import type { SentinelConfig } from '../../../src/config/schema.js';
import { binPath, cli, cliJson, repoRoot } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';
import { prepareStack, servicePid as stackServicePid, type TestStack } from '../../helpers/stack.js';

// A real stack (PostgreSQL, RabbitMQ, Redis, worker, API) on ports shifted by 16000; the hostile
// programs run only inside its worker's sandbox, submitted through its API by the CLI itself.
const OFFSET = testOffset('audit');
const STRAY_FD = 200;
let stack: TestStack | undefined;
let args: string[];
let config: SentinelConfig;
let leakedFile: string;

/**
 * `up`, started the way a careless supervisor would start it: holding a descriptor it was never
 * told about (fd 200, a file opened for writing, without close-on-exec). The worker inherits it
 * from `up`; the sandbox must not pass it on to programs.
 */
beforeAll(async () => {
  const prepared = prepareStack({ offset: OFFSET });
  stack = prepared;
  args = prepared.args;
  leakedFile = path.join(prepared.dir, 'supervisor.log');
  const leaked = openSync(leakedFile, 'a');
  try {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    for (const k of ['DATABASE_URL', 'RABBITMQ_URL', 'REDIS_URL', 'SENTINEL_CONFIG', 'SENTINEL_STATE_DIR'])
      delete env[k];
    delete env.SENTINEL_PORT_OFFSET;
    const up = spawn('node', [binPath, 'up', ...args, '--json'], {
      cwd: repoRoot,
      env,
      // At fd 200, as a shell or a job runner leaves one (bash keeps 255): Node marks the low
      // descriptors it inherits close-on-exec at start-up, but not these.
      stdio: ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(STRAY_FD - 3).fill('ignore'), leaked],
    });
    let output = '';
    up.stdout?.on('data', (c) => (output += c));
    up.stderr?.on('data', (c) => (output += c));
    const code = await new Promise<number | null>((resolve) => up.on('close', resolve));
    if (code !== 0) throw new Error(`up failed (exit ${code}):\n${output}`);
  } finally {
    closeSync(leaked);
  }
  config = prepared.config;
});
afterAll(async () => {
  await stack?.stop();
});

const servicePid = (service: string): number => stackServicePid(stack!, service);

test('the stack was started holding the stray descriptor; the worker closed it before any sandbox', () => {
  // The API inherited it from `up` as the worker did, open and without close-on-exec...
  const api = servicePid('api');
  expect(readlinkSync(`/proc/${api}/fd/${STRAY_FD}`)).toBe(leakedFile);
  const fdinfo = readFileSync(`/proc/${api}/fdinfo/${STRAY_FD}`, 'utf8');
  expect(Number.parseInt(/^flags:\s+(\d+)$/m.exec(fdinfo)![1]!, 8) & 0o2000000).toBe(0);
  // ...and the bwrap driver's init closed the worker's copy (src/worker/sandbox/fds.ts).
  expect(() => readlinkSync(`/proc/${servicePid('worker')}/fd/${STRAY_FD}`)).toThrow(/ENOENT/);
});

describe('audit sandbox against a live stack', () => {
  let run: Awaited<ReturnType<typeof cliJson<AuditReport>>>;

  beforeAll(async () => {
    run = await cliJson<AuditReport>(['audit', 'sandbox', ...args]);
  });

  test('exits 0 and every row is contained', () => {
    const notContained = run.json.result.rows
      .filter((r) => r.verdict !== 'contained')
      .map((r) => `${r.id}: ${r.verdict} (${r.status}) ${r.reason} — ${r.evidence}`);
    expect(notContained).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.json.status).toBe(0);
    expect(run.json.result.summary).toEqual({ total: 34, contained: 34, escapes: 0, inconclusive: 0 });
    expect(run.json.warnings).toEqual([]);
  });

  test('32 attacks (13 in C++) through the real worker, then the canaries and the "still serves" row', () => {
    const rows = run.json.result.rows;
    expect(rows).toHaveLength(34);
    const attacks = rows.filter((r) => r.jobId !== undefined && r.id !== 'stack-still-serves');
    expect(attacks).toHaveLength(32);
    expect(attacks.filter((r) => r.language === 'cpp')).toHaveLength(13);
    expect(rows.at(-2)).toMatchObject({
      id: 'host-canaries',
      verdict: 'contained',
      evidence: '0 TCP connections, 0 UDP datagrams, 0 unix connections',
    });
    const last = rows.at(-1)!;
    expect(last).toMatchObject({ id: 'stack-still-serves', status: 'SUCCESS', verdict: 'contained' });
    expect(last.evidence).toMatch(
      /^health 200; worker pid \d+ alive; api pid \d+ alive; hello world → SUCCESS "hello, world"$/,
    );
  });

  test('the statuses the limits produce', () => {
    const status = Object.fromEntries(run.json.result.rows.map((r) => [r.id, r.status]));
    expect(status).toMatchObject({
      'res-fork-bomb': 'TIMEOUT',
      'res-memory-bomb': 'MEMORY_LIMIT_EXCEEDED',
      'res-memory-split': 'MEMORY_LIMIT_EXCEEDED',
      'res-infinite-loop': 'TIMEOUT',
      'res-output-flood': 'RUNTIME_ERROR',
      'net-tcp-stack': 'SUCCESS',
      'secrets-environment': 'SUCCESS',
      'proc-kill-all': 'SUCCESS',
    });
  });

  test("the stack's own ports were the targets, and every probe of them was refused", () => {
    const tcp = run.json.result.rows.find((r) => r.id === 'net-tcp-stack')!;
    const { ports } = config;
    expect(tcp.lines.slice(0, 6)).toEqual([
      `BLOCKED: tcp 127.0.0.1:${ports.postgres} (PostgreSQL): ECONNREFUSED`,
      `BLOCKED: tcp 127.0.0.1:${ports.redis} (Redis): ECONNREFUSED`,
      `BLOCKED: tcp 127.0.0.1:${ports.rabbitmq} (RabbitMQ AMQP): ECONNREFUSED`,
      `BLOCKED: tcp 127.0.0.1:${ports.rabbitmqManagement} (RabbitMQ management): ECONNREFUSED`,
      `BLOCKED: tcp 127.0.0.1:${ports.api} (API): ECONNREFUSED`,
      `BLOCKED: tcp 127.0.0.1:${ports.workerMetrics} (worker metrics): ECONNREFUSED`,
    ]);
    const files = run.json.result.rows.find((r) => r.id === 'secrets-host-files')!;
    expect(files.lines).toContain(`BLOCKED: ${path.join(config.stateDir, 'credentials.json')}: ENOENT`);
  });

  test('the worker runs as root here, and the sandboxed program as an unprivileged slot uid on the host', () => {
    const uid = run.json.result.rows.find((r) => r.id === 'priv-uid')!;
    expect(uid.reason).toMatch(/; on the host it ran as uid 190000000[0-3]$/);
  });

  test('a daemon left behind was seen on the host during its job and was gone after it', () => {
    const daemon = run.json.result.rows.find((r) => r.id === 'proc-outlive-job')!;
    expect(daemon.reason).toMatch(
      /^SUCCESS as expected; on the host it ran as uid 190000000[0-3]; seen on the host while the job ran, gone after it$/,
    );
  });

  test('no descriptor of the worker reaches the sandbox', () => {
    const fds = run.json.result.rows.find((r) => r.id === 'proc-inherited-fds')!;
    expect(fds.lines[0]).toBe(
      'BLOCKED: descriptors inherited from the worker: none beyond stdin, stdout and stderr',
    );
  });

  test('no password of the stack appears anywhere in the report', () => {
    // credentials.json holds { postgres, rabbitmq, redis } passwords, generated by `up`.
    const stored = JSON.parse(readFileSync(path.join(config.stateDir, 'credentials.json'), 'utf8')) as Record<
      string,
      string
    >;
    const passwords = Object.values(stored);
    expect(passwords).toHaveLength(3);
    expect(passwords.every((p) => typeof p === 'string' && p.length >= 16)).toBe(true);
    expect(passwords.sort()).toEqual(
      [
        config.credentials.postgres.password,
        config.credentials.rabbitmq.password,
        config.credentials.redis.password,
      ].sort(),
    );
    for (const p of passwords) expect(run.stdout + run.stderr).not.toContain(p);
  });
});

describe('audit sandbox without a stack', () => {
  test('exit 3 when the API does not answer', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-audit-none-'));
    try {
      // Offset 16900: nothing of this test listens there.
      const r = await cliJson([
        'audit',
        'sandbox',
        '--state-dir',
        path.join(dir, 'state'),
        '--port-offset',
        '16900',
      ]);
      expect(r.exitCode).toBe(3);
      expect(r.json.error).toMatchObject({ code: 'API_UNREACHABLE' });
      expect(r.json.error?.message).toMatch(/^The API at http:\/\/127\.0\.0\.1:24980 does not answer/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--help documents the command with examples', async () => {
    const r = await cli(['audit', 'sandbox', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Run hostile programs through the real worker; report if the sandbox held.');
    expect(r.stdout).toContain('$ sentinel-ctl audit sandbox --json > audit.json');
  });
});
