/**
 * Issue 2 benchmark: cold `up` (empty state dir → all healthy), warm `up` (already running), and
 * the floor — the same three servers with the same settings started directly in parallel until
 * they answer — plus `sentinel-ctl --help`. Prints times and ratios; asserts nothing.
 *
 *   npm run bench:stack            (builds first)
 *   node --import tsx bench/stack/startup.ts --runs 3
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.js';
import { lookupAccount } from '../../src/services/accounts.js';
import { RabbitMQService } from '../../src/services/rabbitmq/index.js';
import { RedisService } from '../../src/services/redis.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const bin = path.resolve('bin/run.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timeCli(args: string[]): number {
  const t0 = performance.now();
  execFileSync('node', [bin, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - t0) / 1000;
}

async function until(check: () => Promise<unknown>): Promise<void> {
  for (;;) {
    try {
      await check();
      return;
    } catch {
      await sleep(50);
    }
  }
}

/** The three raw servers, in parallel, with the config files `up` would write; no bootstrap. */
async function floor(offset: number): Promise<number> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-floor-'));
  chmodSync(stateDir, 0o755);
  const { config } = loadConfig({ cwd: stateDir, env: {}, flags: [{ path: 'stateDir', value: stateDir, flag: '' }, { path: 'portOffset', value: offset, flag: '' }] });
  const procs: ChildProcess[] = [];
  const log = (name: string) => openSync(path.join(stateDir, `${name}.log`), 'a');
  const t0 = performance.now();
  const postgres = (async () => {
    const account = lookupAccount('postgres')!;
    const dir = path.join(stateDir, 'pg');
    mkdirSync(path.join(dir, 'sock'), { recursive: true });
    chownSync(dir, account.uid, account.gid);
    chownSync(path.join(dir, 'sock'), account.uid, account.gid);
    execFileSync('/usr/lib/postgresql/15/bin/initdb', ['-D', `${dir}/data`, '-U', 'postgres', '--auth-local=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], { uid: account.uid, gid: account.gid, cwd: dir, stdio: 'ignore' });
    procs.push(spawn('/usr/lib/postgresql/15/bin/postgres', ['-D', `${dir}/data`, '-c', `port=${config.ports.postgres}`, '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}/sock`], { uid: account.uid, gid: account.gid, cwd: dir, stdio: ['ignore', log('pg'), log('pg')] }));
    await until(async () => {
      const c = new pg.Client({ host: `${dir}/sock`, port: config.ports.postgres, user: 'postgres', database: 'postgres' });
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
    });
  })();
  const redis = (async () => {
    const svc = new RedisService(config);
    mkdirSync(path.join(svc.dir, 'data'), { recursive: true });
    writeFileSync(svc.configFile, svc.renderConfig());
    procs.push(spawn('/usr/bin/redis-server', [svc.configFile], { stdio: ['ignore', log('redis'), log('redis')] }));
    await until(async () => {
      const r = new Redis({ port: config.ports.redis, password: config.credentials.redis.password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      r.on('error', () => {});
      try {
        await r.connect();
        await r.ping();
      } finally {
        r.disconnect();
      }
    });
  })();
  const rabbit = (async () => {
    const svc = new RabbitMQService(config);
    const d = svc.dir;
    for (const sub of ['home', 'mnesia', 'log']) mkdirSync(path.join(d, sub), { recursive: true });
    writeFileSync(path.join(d, 'home', '.erlang.cookie'), 'FLOORCOOKIEFLOORCOOKIE', { mode: 0o400 });
    writeFileSync(path.join(d, 'rabbitmq-env.conf'), '');
    writeFileSync(path.join(d, 'rabbitmq.conf'), svc.renderConfig());
    writeFileSync(path.join(d, 'enabled_plugins'), '[rabbitmq_management,rabbitmq_prometheus].\n');
    const env = (svc as unknown as { env(): NodeJS.ProcessEnv }).env();
    procs.push(spawn('/usr/bin/epmd', ['-port', String(config.ports.epmd), '-address', '127.0.0.1'], { env, stdio: 'ignore', detached: true }));
    procs.push(spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { env, cwd: d, stdio: ['ignore', log('rabbit'), log('rabbit')], detached: true }));
    await until(async () => {
      const conn = await amqp.connect(svc.amqpUrl, { timeout: 1000 });
      await (await conn.createChannel()).close();
      await conn.close();
    });
  })();
  await Promise.all([postgres, redis, rabbit]);
  const seconds = (performance.now() - t0) / 1000;
  for (const p of procs.reverse()) {
    try {
      process.kill(p.spawnargs[0]!.includes('rabbitmq') || p.spawnargs[0]!.includes('epmd') ? -p.pid! : p.pid!, 'SIGTERM');
    } catch {}
  }
  await sleep(8000);
  rmSync(stateDir, { recursive: true, force: true });
  return seconds;
}

const colds: number[] = [];
const warms: number[] = [];
const floors: number[] = [];
for (let i = 0; i < runs; i++) {
  const offset = 13_000 + i * 10;
  const state = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-up-'));
  chmodSync(state, 0o755); // as a state dir in a project checkout: the postgres account can enter it
  const args = ['up', '--state-dir', state, '--port-offset', String(offset)];
  colds.push(timeCli(args));
  warms.push(timeCli(args));
  execFileSync('node', [bin, 'down', '--state-dir', state, '--port-offset', String(offset)], { stdio: 'ignore' });
  rmSync(state, { recursive: true, force: true });
  floors.push(await floor(offset + 5));
  console.error(`run ${i + 1}/${runs}: cold ${colds[i]!.toFixed(2)} s, warm ${warms[i]!.toFixed(2)} s, floor ${floors[i]!.toFixed(2)} s`);
}
const helps: number[] = [];
for (let i = 0; i < 7; i++) helps.push(timeCli(['--help']));

const cold = median(colds);
const floorS = median(floors);
console.log(`cold up      ${cold.toFixed(2)} s   (median of ${runs}; target ≤ 1.5 × floor)`);
console.log(`floor        ${floorS.toFixed(2)} s   (raw servers in parallel, same settings)`);
console.log(`ratio        ${(cold / floorS).toFixed(2)} × floor`);
console.log(`warm up      ${median(warms).toFixed(2)} s   (target ≤ 1 s)`);
console.log(`--help       ${(median(helps) * 1000).toFixed(0)} ms  (median of 7; target ≤ 300 ms)`);
console.log(`machine      ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
