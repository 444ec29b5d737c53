/**
 * Benchmark: `diagnose --once --json` against a local stack, wall time and its split across the
 * collectors. Target (issue 6): ≤ 2 s with every component up; ≤ the collector timeout when one
 * does not answer. Measures, never asserts.
 *   npm run build && node --import tsx bench/diagnose/run.ts [--runs 5]
 * Starts its own stack (PostgreSQL, RabbitMQ, Redis at port offset 14300) with a backlog, and a
 * local "black hole" (accepts TCP, never answers) to stand for a hung component.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import type { DiagnoseReport } from '../../src/diagnose/types.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, offset: { type: 'string', default: '14300' } },
});
const runs = Number(values.runs);
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/run.js');
const state = mkdtempSync(path.join(os.tmpdir(), 'diagnose-bench-'));
chmodSync(state, 0o755);
const common = ['--state-dir', state, '--port-offset', values.offset];

async function once(extra: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = await execa('node', [bin, 'diagnose', ...common, '--once', '--json', ...extra], {
    reject: false,
    env: { ...env, NO_COLOR: '1' },
    stdin: 'ignore',
  });
  const wall = performance.now() - t0;
  const report = (JSON.parse(String(r.stdout)) as { result: DiagnoseReport }).result;
  return { wall, report };
}

function row(label: string, wall: number, r: DiagnoseReport) {
  const t = r.timings;
  const split = (['postgres', 'rabbitmq', 'redis', 'worker', 'api', 'host'] as const)
    .map((k) => `${k} ${t[k]}`)
    .join(', ');
  console.log(
    `${label.padEnd(28)} wall ${Math.round(wall)} ms · collect ${t.total} ms (sample pause ${Math.round(r.windowSeconds * 1000)} ms) · ${split}`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const hole = net.createServer(() => {});
await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
const holePort = (hole.address() as net.AddressInfo).port;
try {
  execFileSync('node', [bin, 'up', ...common, '--services', 'postgres,rabbitmq,redis'], { stdio: 'ignore' });
  execFileSync(
    'node',
    ['--import', 'tsx', path.join(root, 'bench/diagnose/provoke.ts'), ...common, '--messages', '1500'],
    { stdio: 'ignore' },
  );
  console.log(
    `diagnose --once --json, ${runs} runs each, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    'worker and API are not running (connection refused); the sample pause is --sample-interval (default 1 s)',
  );
  const up: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { wall, report } = await once([]);
    up.push(wall);
    row(`stack up, run ${i + 1}`, wall, report);
  }
  const hung: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Redis that accepts the connection and never answers: its collector waits for --timeout (2 s).
    const { wall, report } = await once(['--redis-url', `redis://127.0.0.1:${holePort}/0`]);
    hung.push(wall);
    row(`Redis hung, run ${i + 1}`, wall, report);
  }
  console.log(
    `median wall: all answering ${Math.round(median(up))} ms (target ≤ 2000); Redis hung ${Math.round(median(hung))} ms (timeout 2000 + start-up)`,
  );
} finally {
  hole.close();
  try {
    execFileSync('node', [bin, 'down', ...common], { stdio: 'ignore' });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}
