// Two-shard accuracy and wall time (issue 12 §1): a server that freezes for 1 s every 5 s (the last
// second of each 5 s period, on the wall clock from the test's start), driven in the open model at
// RATE arrivals/s for DURATION s by one generator, then by 2 shards of RATE/2 (--shard i/2,
// --start-at) merged with `bench merge`. The truth comes from the schedule. Also prints the wall
// time of each (process start to exit; for the shards, until the merge is done).
//   node bench/shards/run.mjs        (needs `npm run build`; env RATE=1000 DURATION=10 PORT=25790)
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RATE = Number(process.env.RATE ?? 1000);
const DURATION = Number(process.env.DURATION ?? 10);
const PORT = Number(process.env.PORT ?? 25790);
const EVERY = 5000;
const FREEZE = 1000;
const LEAD = 15_000;
const dir = mkdtempSync(path.join(tmpdir(), 'bench-shards-'));
let origin = 0;

const server = http.createServer((req, res) => {
  const rel = Date.now() - origin;
  const inPeriod = rel % EVERY;
  const delay =
    !req.headers['x-bench-prime'] && origin && rel >= 0 && inPeriod >= EVERY - FREEZE ? EVERY - inPeriod : 0;
  req.resume();
  req.on('end', () => setTimeout(() => res.end('ok'), delay));
});
server.keepAliveTimeout = 60_000;
await new Promise((r) => server.listen(PORT, '127.0.0.1', r));

function truth(p) {
  const lat = [];
  for (let i = 0; i < RATE * DURATION; i++) {
    const inPeriod = ((i / RATE) * 1000) % EVERY;
    lat.push(inPeriod >= EVERY - FREEZE ? EVERY - inPeriod : 0);
  }
  lat.sort((a, b) => a - b);
  return lat[Math.ceil((p / 100) * lat.length) - 1];
}

const common = [
  '-R',
  String(RATE),
  '-d',
  `${DURATION}s`,
  '--max-vus',
  String(RATE * 3),
  '--connections',
  String(Math.min(RATE * 1.2, 1200)),
  '--progress',
  'none',
];
const bench = (args) =>
  run('node', ['bin/run.js', 'bench', `http://127.0.0.1:${PORT}/`, ...common, ...args], {
    maxBuffer: 1 << 24,
  }).catch((e) => e);

try {
  console.log(
    `machine load before: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  // One generator.
  origin = Date.now() + LEAD;
  let t = Date.now();
  await bench(['--start-at', String(origin), '--out', `json=${dir}/one.json`]);
  const oneWall = Date.now() - t;
  // Two shards, then the merge.
  origin = Date.now() + LEAD;
  t = Date.now();
  await Promise.all(
    [1, 2].map((i) =>
      bench(['--shard', `${i}/2`, '--start-at', String(origin), '--out', `json=${dir}/s${i}.json`]),
    ),
  );
  await run('node', [
    'bin/run.js',
    'bench',
    'merge',
    `${dir}/s1.json`,
    `${dir}/s2.json`,
    '--out',
    `json=${dir}/merged.json`,
  ]).catch((e) => e);
  const twoWall = Date.now() - t;
  const one = JSON.parse(readFileSync(`${dir}/one.json`, 'utf8'));
  const merged = JSON.parse(readFileSync(`${dir}/merged.json`, 'utf8'));
  const pct = (r, k) => r.requests.at(-1).latency[k];
  console.log(
    `open model ${RATE}/s for ${DURATION}s; server freezes ${FREEZE} ms every ${EVERY} ms; truth from the schedule`,
  );
  console.log('figure  truth     one generator          2 shards merged        merged vs one');
  for (const [p, k] of [
    [90, 'p90'],
    [95, 'p95'],
    [99, 'p99'],
  ]) {
    const tr = truth(p);
    const o = pct(one, k);
    const m = pct(merged, k);
    const off = (v) => `${((Math.abs(v - tr) / tr) * 100).toFixed(1)}% off`;
    console.log(
      `${k.padEnd(7)} ${String(tr).padEnd(9)} ${`${o} (${off(o)})`.padEnd(22)} ${`${m} (${off(m)})`.padEnd(22)} ${((m / o - 1) * 100).toFixed(1)}%`,
    );
  }
  const drops = (r) => r.metrics.find((x) => x.metric === 'dropped_iterations' && x.name === '*')?.count ?? 0;
  console.log(
    `requests: one ${one.requests.at(-1).requests}, merged ${merged.requests.at(-1).requests}; dropped: one ${drops(one)}, merged ${drops(merged)}`,
  );
  console.log(
    `shard start delays: ${merged.shards.map((s) => `${s.index}/${s.count} +${s.startDelayMs} ms`).join(', ')}`,
  );
  console.log(
    `generator lag p99: one ${one.self.eventLoopLagMs.p99} ms, shards (worst) ${merged.self.eventLoopLagMs.p99} ms`,
  );
  console.log(
    `wall time (incl. ${LEAD / 1000} s lead to --start-at): one generator ${(oneWall / 1000).toFixed(1)} s, 2 shards + merge ${(twoWall / 1000).toFixed(1)} s, ratio ${(twoWall / oneWall).toFixed(2)}`,
  );
  console.log(
    `machine load after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
} finally {
  server.close();
  server.closeAllConnections();
}
