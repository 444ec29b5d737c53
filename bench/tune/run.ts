/**
 * Issue 5 benchmark: `tune pool --dry-run` and `tune check` over a generated tree of 200 manifest
 * files (the generated Sentinel stack plus unrelated apps, as in a GitOps monorepo), through the
 * built binary. Wall time and peak RSS of the child come from /usr/bin/time; prints the medians
 * against the targets (≤ 1 s, ≤ 150 MB). Asserts nothing.
 *
 *   npm run build && node --import tsx bench/tune/run.ts [--runs 5] [--files 200] [--keep]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderK8s } from '../../src/generate/k8s.js';
import { run } from '../../src/lib/proc.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    files: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const total = Number(values.files);
const bin = path.resolve('bin/run.js');
const TARGET_SECONDS = 1;
const TARGET_MB = 150;

/** One unrelated app: a commented ConfigMap, a Secret, a Deployment and a Service (~110 lines). */
function appFile(i: number): string {
  const name = `app-${String(i).padStart(3, '0')}`;
  const b64 = Buffer.from(
    `postgres://${name}:pw-${i}@db-${i % 7}.data.svc:5432/${name}?sslmode=require`,
  ).toString('base64');
  return `# ${name}: owned by team ${i % 13}. Keep these comments: they are the runbook.
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
  namespace: apps
  labels: &labels
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/part-of: shop
data:
  LOG_LEVEL: info   # debug only while investigating
  FEATURE_FLAGS: "checkout,search,${i % 2 ? 'beta' : 'stable'}"
  CACHE_TTL: '300'
  UPSTREAM: http://app-${String((i + 1) % 190).padStart(3, '0')}.apps.svc:8080
  settings.json: |
    {"retries": 3, "timeoutMs": ${1000 + i}, "region": "eu-${i % 3}"}
---
apiVersion: v1
kind: Secret
metadata:
  name: ${name}-db
  namespace: apps
type: Opaque
data:
  DATABASE_URL: ${b64}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: apps
  labels: *labels
spec:
  replicas: ${1 + (i % 4)}
  selector:
    matchLabels: {app.kubernetes.io/name: ${name}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: ${name}}
      annotations:
        prometheus.io/scrape: "true"
    spec:
      containers:
        - name: app
          image: "ghcr.io/example/${name}:1.${i % 10}.0"
          ports: [{containerPort: 8080, name: http}]
          envFrom:
            - configMapRef: {name: ${name}-config}
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: ${name}-db, key: DATABASE_URL}
            - name: POD_NAME
              valueFrom:
                fieldRef: {fieldPath: metadata.name}
            - name: GOMAXPROCS
              value: "2"
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 10
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            initialDelaySeconds: 15
          resources:
            requests: {cpu: ${100 + (i % 5) * 50}m, memory: ${128 * (1 + (i % 3))}Mi}
            limits:
              cpu: "1"
              memory: 512Mi
        - name: proxy
          image: envoyproxy/envoy:v1.30.1
          args: ["--config-path", "/etc/envoy/envoy.yaml", '--log-level', "warn"]
          resources:
            requests: {cpu: 50m, memory: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: apps
spec:
  selector: {app.kubernetes.io/name: ${name}}
  ports:
  - name: http
    port: 8080
    targetPort: http
...
`;
}

function buildTree(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-tune-'));
  const stack = path.join(dir, 'sentinel');
  mkdirSync(path.join(stack, 'nsjail'), { recursive: true });
  // The stack as generated for dev, so tuning it for prod changes several files.
  const { files } = renderK8s({
    profile: 'dev',
    namespace: 'sentinel',
    workload: 'default',
    host: 'sentinel.example.com',
    registry: 'ghcr.io/harsh-bh',
    tag: 'v1',
  });
  let yaml = 0;
  for (const [name, text] of files) {
    writeFileSync(path.join(stack, name), text);
    if (name.endsWith('.yaml')) yaml++;
  }
  for (let i = 0; yaml < total; i++, yaml++) {
    const team = path.join(dir, 'apps', `team-${i % 10}`);
    mkdirSync(team, { recursive: true });
    writeFileSync(path.join(team, `app-${String(i).padStart(3, '0')}.yaml`), appFile(i));
  }
  return dir;
}

/** Wall seconds and peak RSS (MB) of one run of the binary, from /usr/bin/time. */
async function measure(
  args: string[],
  cwd: string,
): Promise<{ seconds: number; mb: number; exitCode: number }> {
  const r = await run('/usr/bin/time', ['-f', 'BENCH %e %M', 'node', bin, ...args], { cwd, reject: false });
  const m = /BENCH ([\d.]+) (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time:\n${r.stderr}`);
  return { seconds: Number(m[1]), mb: Number(m[2]) / 1024, exitCode: r.exitCode };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = buildTree();
try {
  const cases: Array<[string, string[]]> = [
    [
      'tune pool --dry-run',
      [
        'tune',
        'pool',
        '--manifests',
        '.',
        '--profile',
        'prod',
        '--cpus',
        '4',
        '--memory',
        '8Gi',
        '--dry-run',
      ],
    ],
    ['tune check', ['tune', 'check', '--manifests', '.']],
    ['--version (CLI start-up floor)', ['--version']],
  ];
  console.log(
    `tree: ${total} manifest files in ${dir} (1 Sentinel stack + ${total - 12} other apps); ${runs} runs each, ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log('case                             median s   max s   peak RSS MB   targets ≤ 1 s, ≤ 150 MB');
  for (const [label, args] of cases) {
    await measure(args, dir); // warm the file cache
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await measure(args, dir));
    const s = median(samples.map((x) => x.seconds));
    const mx = Math.max(...samples.map((x) => x.seconds));
    const mb = Math.max(...samples.map((x) => x.mb));
    const verdict = label.startsWith('--version')
      ? ''
      : s <= TARGET_SECONDS && mb <= TARGET_MB
        ? 'met'
        : 'MISSED';
    console.log(
      `${label.padEnd(32)} ${s.toFixed(2).padStart(8)} ${mx.toFixed(2).padStart(7)} ${mb.toFixed(0).padStart(13)}   ${verdict}  (exit ${samples[0]!.exitCode})`,
    );
  }
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
