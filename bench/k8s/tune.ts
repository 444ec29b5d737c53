/**
 * Issue 11 step 5 benchmark: `tune check --k8s --manifests DIR` on the prod set of `generate k8s`,
 * applied to a real kube-apiserver (test/helpers/k8s.ts starts it, with two Nodes), against
 * `kubectl get` of the same objects (the kinds tune reads in the namespace, and the Nodes) in the
 * same run. Both are whole processes (node or kubectl start-up included); medians of --runs rounds,
 * alternating. Also printed: the part of tune's time spent on the cluster reads alone, measured by
 * `tune check --manifests DIR` without --k8s. Asserts nothing.
 *
 *   npm run build && SENTINEL_TEST_PORT_SHIFT=6 node --import tsx bench/k8s/tune.ts [--runs 7]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTestCluster } from '../../test/helpers/k8s.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
const bin = path.resolve('bin/run.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-k8s-tune-'));

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
if (kubectl.status !== 0) {
  process.stderr.write('kubectl is not on PATH: apt-get install kubernetes-client\n');
  process.exit(3);
}

/** Exit 0 or 1 (tune check's "found something") are both a completed run. */
function timed(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t;
  if (r.status !== 0 && r.status !== 1)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cluster = await startTestCluster('k8sTune');
try {
  const dir = path.join(work, 'prod');
  execFileSync('node', [bin, 'generate', 'k8s', '--profile', 'prod', '--out', dir], { stdio: 'pipe' });
  const secrets = path.join(dir, '01-secrets.yaml');
  writeFileSync(secrets, readFileSync(secrets, 'utf8').replaceAll('REPLACE_ME', 'bench-secret'));
  execFileSync(
    'node',
    [bin, 'up', '--k8s', '--kubeconfig', cluster.kubeconfig, '--manifests', dir, '--no-wait'],
    { stdio: 'pipe' },
  );
  for (const [name, cpu, memory] of [
    ['node-a', '4', '16Gi'],
    ['node-b', '8', '32Gi'],
  ] as const) {
    execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    execFileSync('kubectl', [
      '--kubeconfig',
      cluster.kubeconfig,
      'patch',
      'node',
      name,
      '--subresource',
      'status',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ status: { allocatable: { cpu, memory, pods: '110' } } }),
    ]);
  }
  const kinds =
    'deployments,statefulsets,horizontalpodautoscalers,scaledobjects,triggerauthentications,configmaps,secrets,nodes';
  const count = JSON.parse(
    execFileSync(
      'kubectl',
      ['--kubeconfig', cluster.kubeconfig, '-n', 'sentinel', 'get', kinds, '-o', 'json'],
      {
        encoding: 'utf8',
      },
    ),
  ).items.length as number;
  const tune = ['tune', 'check', '--k8s', '--kubeconfig', cluster.kubeconfig, '--manifests', dir, '--json'];
  const filesOnly = ['tune', 'check', '--manifests', dir, '--json'];
  const get = ['--kubeconfig', cluster.kubeconfig, '-n', 'sentinel', 'get', kinds, '-o', 'json'];
  const rows = { tune: [] as number[], files: [] as number[], kubectl: [] as number[] };
  timed('node', [bin, ...tune]); // warm the page cache of both
  timed('kubectl', get);
  for (let i = 0; i < runs; i++) {
    rows.tune.push(timed('node', [bin, ...tune]));
    rows.kubectl.push(timed('kubectl', get));
    rows.files.push(timed('node', [bin, ...filesOnly]));
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const t = median(rows.tune);
  const k = median(rows.kubectl);
  const f = median(rows.files);
  console.log(
    `${count} objects (prod set + 2 Nodes), ${runs} rounds, medians, load ${os.loadavg()[0]!.toFixed(1)}:`,
  );
  console.log(`  kubectl ${kubectl.stdout.split('\n')[0]}`);
  console.log(
    `  tune check --k8s --manifests   ${s(t)}   kubectl get ${kinds.split(',').length} kinds -o json   ${s(k)}   ratio ${(t / k).toFixed(2)}`,
  );
  console.log(
    `  tune check --manifests alone   ${s(f)}   (the cluster read, drift and second fact book add ${s(t - f)}; ratio of that to kubectl ${((t - f) / k).toFixed(2)})`,
  );
} finally {
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
