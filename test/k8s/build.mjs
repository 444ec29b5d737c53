#!/usr/bin/env node
/**
 * Builds the real kube-apiserver the Kubernetes integration tests start (test/helpers/k8s.ts), from
 * the k8s.io/kubernetes module pinned in test/k8s/go.mod, into test/k8s/bin/kube-apiserver.
 *
 * `npm test` runs this before vitest; the helper calls it too, so one test file can be run alone.
 * Go's build cache makes every run after the first one fast: a cold build on a 2-core machine takes
 * tens of minutes (the figure is in docs/k8s.md), a warm one a few seconds. `go build` is run under
 * `nice` so that it does not starve the services other tests start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const K8S_DIR = path.dirname(fileURLToPath(import.meta.url));
export const KUBE_APISERVER = path.join(K8S_DIR, 'bin', 'kube-apiserver');

/** Runs `go build` (a no-op when the binary is up to date) and returns the binary's path. */
export function buildKubeApiserver({ quiet = false } = {}) {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      'kube-apiserver for the Kubernetes tests is built with Go, and `go` is not on PATH: install Go 1.26 or newer (docs/k8s.md "Test cluster").',
    );
  }
  mkdirSync(path.dirname(KUBE_APISERVER), { recursive: true });
  const before = existsSync(KUBE_APISERVER) ? statSync(KUBE_APISERVER).mtimeMs : 0;
  const started = Date.now();
  if (!quiet)
    process.stderr.write(`building kube-apiserver (${go.stdout.trim()}) into ${KUBE_APISERVER}...\n`);
  // The version go.mod pins, stamped as the release build scripts do (else it says v0.0.0-master).
  const version = /k8s\.io\/kubernetes (v\d+\.\d+\.\d+)/.exec(
    readFileSync(path.join(K8S_DIR, 'go.mod'), 'utf8'),
  )?.[1];
  const [major, minor] = (version ?? 'v0.0').slice(1).split('.');
  const pkg = 'k8s.io/component-base/version';
  const ldflags = `-s -w -X ${pkg}.gitVersion=${version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean`;
  const r = spawnSync(
    'nice',
    [
      '-n',
      '10',
      'go',
      'build',
      `-ldflags=${ldflags}`,
      '-o',
      KUBE_APISERVER,
      'k8s.io/kubernetes/cmd/kube-apiserver',
    ],
    { cwd: K8S_DIR, stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'], encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) {
    throw new Error(
      `go build k8s.io/kubernetes/cmd/kube-apiserver failed (exit ${r.status}): ${String(
        r.stderr ?? r.error ?? '',
      )
        .trim()
        .slice(-2000)}`,
    );
  }
  const after = statSync(KUBE_APISERVER).mtimeMs;
  if (!quiet) {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`kube-apiserver ${after === before ? 'up to date' : 'built'} in ${seconds} s\n`);
  }
  return KUBE_APISERVER;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    buildKubeApiserver();
  } catch (error) {
    process.stderr.write(`Error: ${error.message}\n`);
    process.exit(3);
  }
}
