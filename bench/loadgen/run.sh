#!/usr/bin/env bash
# Generator benchmark (issue 4 "Benchmark"): one trivial local HTTP server pinned to core 1, then
# three load generators in turn pinned to core 0, each in the closed model with 50 connections for
# 10 s: sentinel-ctl bench, autocannon (npm dev dependency) and wrk (Debian package).
# Prints requests/s of each, the ratios (targets: >= 1.0x autocannon, >= 0.5x wrk) and p99 vs wrk,
# and the efficiency: requests per CPU-second of each generator process (user + sys of the whole
# process and its threads, start-up and our priming requests included, from /usr/bin/time),
# targets >= 1.2x autocannon and >= 0.75x wrk (issue 12, item 4). Per round and the median.
#   bench/loadgen/run.sh            # needs `npm run build` first, and `apt-get install -y wrk`
# Env: CONNECTIONS (50), DURATION (10), PORT (18080), ROUNDS (1: more rounds interleave the tools
# and report the median, which helps on a busy machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10}
PORT=${PORT:-18080}
ROUNDS=${ROUNDS:-1}
URL="http://127.0.0.1:${PORT}/"
out=$(mktemp -d)
server_pid=""
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$out"' EXIT

for tool in taskset wrk node; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wrk util-linux)" >&2; exit 3; }
done
[[ -f dist/commands/bench/index.js ]] || { echo "dist/ missing: run npm run build" >&2; exit 3; }
[[ -x node_modules/.bin/autocannon ]] || { echo "autocannon missing: npm install" >&2; exit 3; }

if curl -s -o /dev/null "$URL" 2>/dev/null; then
  echo "port $PORT is already in use: stop that server or run with PORT=..." >&2
  exit 3
fi
SERVER_MAX_S=$(( (DURATION + 5) * 3 * ROUNDS + 60 )) taskset -c 1 node bench/loadgen/server.mjs "$PORT" &
server_pid=$!
for _ in $(seq 50); do
  curl -sf "$URL" >/dev/null 2>&1 && break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null || { echo "the benchmark server did not start" >&2; exit 3; }

echo "server: node http on core 1; generators on core 0; ${CONNECTIONS} connections, ${DURATION}s, ${ROUNDS} round(s)"
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# CPU seconds of each generator (user + sys, startup included) via /usr/bin/time when present:
# requests per CPU-second compare the generators' efficiency even when the machine is busy.
timed() {
  local cpu_file=$1
  shift
  if [[ -x /usr/bin/time ]]; then /usr/bin/time -f "%U %S" -o "$cpu_file" "$@"; else "$@"; fi
}
for round in $(seq "$ROUNDS"); do
  timed "$out/ours-$round.cpu" taskset -c 0 node bin/run.js bench "$URL" -c "$CONNECTIONS" -d "${DURATION}s" \
    --progress none --json >"$out/ours-$round.json" 2>"$out/ours-$round.err" || true
  timed "$out/autocannon-$round.cpu" taskset -c 0 node_modules/.bin/autocannon -c "$CONNECTIONS" -d "$DURATION" -j "$URL" \
    >"$out/autocannon-$round.json" 2>/dev/null
  timed "$out/wrk-$round.cpu" taskset -c 0 wrk -t1 -c "$CONNECTIONS" -d "${DURATION}s" --latency "$URL" >"$out/wrk-$round.txt"
done
echo "machine load after:  $(cut -d' ' -f1-3 /proc/loadavg)"

for f in "$out"/*.err; do [[ -s "$f" ]] && { echo "--- $f"; tail -5 "$f"; }; done
node - "$out" "$ROUNDS" <<'JS'
const fs = require('node:fs');
const [dir, rounds] = [process.argv[2], Number(process.argv[3])];
const cpu = (name, r) => {
  try {
    const [u, sys] = fs.readFileSync(`${dir}/${name}-${r}.cpu`, 'utf8').trim().split(/\s+/).map(Number);
    return u + sys;
  } catch {
    return NaN;
  }
};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const ours = [], ac = [], wrk = [];
for (let r = 1; r <= rounds; r++) {
  const o = JSON.parse(fs.readFileSync(`${dir}/ours-${r}.json`, 'utf8')).result;
  const all = o.requests.at(-1);
  // Priming requests (sent before the clock) cost CPU too: they count as requests sent.
  ours.push({ rps: all.rps, total: all.requests + (o.self.primed ?? 0), cpu: cpu('ours', r), p99: all.latency.p99, errors: all.failed, busy: o.self.eventLoopUtilization });
  const a = JSON.parse(fs.readFileSync(`${dir}/autocannon-${r}.json`, 'utf8'));
  ac.push({ rps: a.requests.total / a.duration, total: a.requests.total, cpu: cpu('autocannon', r), p99: a.latency.p99, errors: a.errors + a.non2xx });
  const w = fs.readFileSync(`${dir}/wrk-${r}.txt`, 'utf8');
  const unit = (v, u) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u]);
  const p = /99%\s+([\d.]+)(us|ms|s)/.exec(w);
  const wrkTotal = Number(/(\d+) requests in/.exec(w)[1]);
  wrk.push({ rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(w)[1]), total: wrkTotal, cpu: cpu('wrk', r), p99: unit(p[1], p[2]), errors: /Non-2xx|Socket errors/.test(w) ? 'see wrk' : 0 });
}
const m = (xs, k) => median(xs.map((x) => x[k]));
const row = (name, xs) =>
  `${name.padEnd(20)} ${m(xs, 'rps').toFixed(0).padStart(9)} req/s   p99 ${m(xs, 'p99').toFixed(2).padStart(7)} ms   ${Number.isNaN(m(xs, 'perCpu')) ? '' : `${m(xs, 'perCpu').toFixed(0).padStart(6)} req per CPU-s   `}errors ${xs.map((x) => x.errors).join('/')}`;
for (const xs of [ours, ac, wrk]) for (const x of xs) x.perCpu = x.total / x.cpu;
if (rounds > 1) {
  console.log('');
  console.log('per round (req/s): ' + ours.map((o, i) => `ours ${o.rps.toFixed(0)} / autocannon ${ac[i].rps.toFixed(0)} / wrk ${wrk[i].rps.toFixed(0)}`).join('; '));
  console.log('per round (req per CPU-s): ' + ours.map((o, i) => `ours ${o.perCpu.toFixed(0)} / autocannon ${ac[i].perCpu.toFixed(0)} / wrk ${wrk[i].perCpu.toFixed(0)} (x${(o.perCpu / ac[i].perCpu).toFixed(2)}, x${(o.perCpu / wrk[i].perCpu).toFixed(2)})`).join('; '));
}
console.log('');
console.log(rounds > 1 ? `medians of ${rounds} rounds:` : 'one round:');
console.log(row('sentinel-ctl bench', ours));
console.log(row('autocannon', ac));
console.log(row('wrk', wrk));
console.log('');
const vsAc = m(ours, 'rps') / m(ac, 'rps');
const vsWrk = m(ours, 'rps') / m(wrk, 'rps');
const p99 = m(ours, 'p99') / m(wrk, 'p99');
console.log(`ours / autocannon  ${vsAc.toFixed(2)}x   (target >= 1.0)  ${vsAc >= 1 ? 'met' : 'MISSED'}`);
console.log(`ours / wrk         ${vsWrk.toFixed(2)}x   (target >= 0.5)  ${vsWrk >= 0.5 ? 'met' : 'MISSED'}`);
console.log(`p99 ours / wrk     ${p99.toFixed(2)}    (target within 10 %: 0.90-1.10)  ${Math.abs(p99 - 1) <= 0.1 ? 'met' : 'MISSED'}`);
if (!Number.isNaN(m(ours, 'perCpu'))) {
  const effAc = m(ours, 'perCpu') / m(ac, 'perCpu');
  const effWrk = m(ours, 'perCpu') / m(wrk, 'perCpu');
  console.log(`efficiency (requests per CPU-second, startup included) ours / autocannon ${effAc.toFixed(2)}x (target >= 1.2) ${effAc >= 1.2 ? 'met' : 'MISSED'}, ours / wrk ${effWrk.toFixed(2)}x (target >= 0.75) ${effWrk >= 0.75 ? 'met' : 'MISSED'}`);
}
console.log(`generator event loop busy: ${ours.map((o) => Math.round(o.busy * 100) + '%').join(', ')}`);
JS
