/**
 * Issue 11 benchmark: `up --k8s` applying the prod set of `generate k8s` to a real kube-apiserver
 * (test/helpers/k8s.ts starts it), against `kubectl apply --server-side` on the same objects in the
 * same run. Each round applies into fresh namespaces (one per tool), then applies again (the
 * no-op case). Printed: medians of the whole process (node or kubectl start-up included) and, for
 * sentinel-ctl, of the apply itself as it reports it (applyMs: waiting excluded, --no-wait anyway).
 * Asserts nothing.
 *
 *   npm run build && node --import tsx bench/k8s/apply.ts [--runs 3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { generatedSet } from '../../src/k8s/manifests.js';
import { startTestCluster } from '../../test/helpers/k8s.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const bin = path.resolve('bin/run.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-k8s-'));

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
if (kubectl.status !== 0) {
  process.stderr.write('kubectl is not on PATH: apt-get install kubernetes-client\n');
  process.exit(3);
}

/** The prod set for one namespace, rendered once as one YAML file both tools read. */
function setFile(namespace: string): string {
  const set = generatedSet({
    profile: 'prod',
    namespace,
    workload: 'default',
    host: 'sentinel.example.com',
    registry: 'ghcr.io/harsh-bh',
    tag: 'latest',
  });
  // Namespace first: kubectl applies a file in its order.
  const ordered = [
    ...set.objects.filter((o) => o.kind === 'Namespace'),
    ...set.objects.filter((o) => o.kind !== 'Namespace'),
  ];
  const text = ordered.map((o) => stringify(o).replaceAll('REPLACE_ME', 'bench-secret')).join('---\n');
  const file = path.join(work, `${namespace}.yaml`);
  writeFileSync(file, text);
  return file;
}

function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { ms: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cluster = await startTestCluster('k8s');
try {
  const server = execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'version', '-o', 'json'], {
    encoding: 'utf8',
  });
  const serverVersion = (JSON.parse(server) as { serverVersion: { gitVersion: string } }).serverVersion
    .gitVersion;
  const objects = readFileSync(setFile('warmup'), 'utf8').split('---\n').length;
  const rows: Record<string, number[]> = {
    ctlFirst: [],
    ctlApplyMs: [],
    ctlAgain: [],
    kubectlFirst: [],
    kubectlAgain: [],
  };
  for (let i = 0; i < runs; i++) {
    const mine = setFile(`bench-ctl-${i}`);
    const theirs = setFile(`bench-kubectl-${i}`);
    const up = [
      'up',
      '--k8s',
      '--kubeconfig',
      cluster.kubeconfig,
      '--manifests',
      mine,
      '--no-wait',
      '--json',
    ];
    const first = timed('node', [bin, ...up]);
    rows.ctlFirst!.push(first.ms);
    rows.ctlApplyMs!.push((JSON.parse(first.stdout) as { result: { applyMs: number } }).result.applyMs);
    rows.ctlAgain!.push(timed('node', [bin, ...up]).ms);
    const kc = [
      '--kubeconfig',
      cluster.kubeconfig,
      'apply',
      '--server-side',
      '--field-manager',
      'kubectl-bench',
      '-f',
      theirs,
    ];
    rows.kubectlFirst!.push(timed('kubectl', kc).ms);
    rows.kubectlAgain!.push(timed('kubectl', kc).ms);
  }
  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as Record<
    string,
    number
  >;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `kube-apiserver ${serverVersion} (test/k8s), ${objects} objects of the prod set, ${runs} rounds, medians:`,
  );
  console.log(`  kubectl ${kubectl.stdout.split('\n')[0]}`);
  console.log(
    `  first apply   sentinel-ctl ${s(m.ctlFirst!)} (apply itself ${s(m.ctlApplyMs!)})   kubectl --server-side ${s(m.kubectlFirst!)}   ratio ${(m.ctlFirst! / m.kubectlFirst!).toFixed(2)} (apply itself ${(m.ctlApplyMs! / m.kubectlFirst!).toFixed(2)})`,
  );
  console.log(
    `  second apply  sentinel-ctl ${s(m.ctlAgain!)}   kubectl --server-side ${s(m.kubectlAgain!)}   ratio ${(m.ctlAgain! / m.kubectlAgain!).toFixed(2)}`,
  );
} finally {
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
