/**
 * A real Kubernetes control plane for the integration tests, started the way controller-runtime's
 * envtest does: etcd and kube-apiserver on loopback, no kubelet, no controllers. kube-apiserver is
 * built from the k8s.io/kubernetes module (test/k8s/build.mjs), etcd is Debian's etcd-server.
 *
 * Nothing runs pods or reconciles objects here: tests write what a controller or kubelet would
 * (Deployment, Pod, HPA and ScaledObject status) through the status subresource, as operator tests
 * on envtest do. The API server runs with RBAC and static tokens: `admin` (system:masters) and any
 * other user a test names in `users`, with no rights until a test binds some.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
// @ts-expect-error a plain ESM script shared with `npm test`'s pre-step
import { buildKubeApiserver } from '../k8s/build.mjs';
import { repoRoot } from './cli.js';
import { type OffsetName, testOffset } from './ports.js';

export const KEDA_CRDS = path.join(repoRoot, 'test/k8s/crds/keda.yaml');
const ETCD = '/usr/bin/etcd';

export interface TestCluster {
  dir: string;
  server: string;
  /** Name of the context in every kubeconfig written here. */
  context: string;
  /** kubeconfig of `admin` (system:masters). */
  kubeconfig: string;
  /** A client as `admin`. */
  kc: KubeConfig;
  api: KubernetesObjectApi;
  /** kubeconfig of a user named in `users` (its token is in the API server's token file). */
  kubeconfigFor(user: string): string;
  stop(): Promise<void>;
}

function freePort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** CA, serving certificate for 127.0.0.1/localhost, and the service-account signing key pair. */
function writeCerts(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=sentinel-test-ca',
  ]);
  openssl(dir, [
    'req',
    ...ec,
    '-keyout',
    'apiserver.key',
    '-out',
    'apiserver.csr',
    '-subj',
    '/CN=kube-apiserver',
  ]);
  writeFileSync(
    path.join(dir, 'san.cnf'),
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n',
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'apiserver.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'apiserver.crt',
    '-days',
    '2',
    '-extfile',
    'san.cnf',
  ]);
  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(path.join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(path.join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
}

export function kubeconfigYaml(o: {
  server: string;
  ca: string;
  token: string;
  user: string;
  context: string;
  namespace?: string;
}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sentinel-test',
        cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.ca).toString('base64') },
      },
    ],
    users: [{ name: o.user, user: { token: o.token } }],
    contexts: [
      {
        name: o.context,
        context: {
          cluster: 'sentinel-test',
          user: o.user,
          ...(o.namespace ? { namespace: o.namespace } : {}),
        },
      },
    ],
    'current-context': o.context,
  });
}

function readyz(server: string, ca: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(
      `${server}/readyz`,
      { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Objects of a multi-document YAML file. */
export function readObjects(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubernetesObject)
    .filter((o) => o?.kind);
}

/**
 * Starts etcd and kube-apiserver on the ports of `name` in test/helpers/ports.ts (etcd 2379/2380,
 * API 6443, each plus the offset), registers the KEDA CRDs and returns once they are established.
 */
export async function startTestCluster(name: OffsetName, users: string[] = []): Promise<TestCluster> {
  const apiserver: string = buildKubeApiserver({ quiet: true });
  const offset = testOffset(name);
  const ports = { etcd: 2379 + offset, peer: 2380 + offset, api: 6443 + offset };
  for (const [what, port] of Object.entries(ports)) {
    if (!(await freePort(port))) throw new Error(`port ${port} (${what}) is taken: a leftover test cluster?`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-k8s-'));
  writeCerts(dir);
  const tokens: Record<string, string> = { admin: randomBytes(16).toString('hex') };
  for (const u of users) tokens[u] = randomBytes(16).toString('hex');
  writeFileSync(
    path.join(dir, 'tokens.csv'),
    Object.entries(tokens)
      .map(([user, token]) => `${token},${user},${user}${user === 'admin' ? ',"system:masters"' : ''}`)
      .join('\n') + '\n',
  );
  const children: ChildProcess[] = [];
  const stopAll = async () => {
    for (const c of [...children].reverse()) await stopProcess(c);
  };
  const onExit = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const logFd = (f: string) => openSync(path.join(dir, f), 'a');
  try {
    const etcdLog = logFd('etcd.log');
    const peer = `http://127.0.0.1:${ports.peer}`;
    children.push(
      spawn(
        ETCD,
        [
          '--name=test',
          `--data-dir=${path.join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
          `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=test=${peer}`,
          '--log-level=warn',
        ],
        { stdio: ['ignore', etcdLog, etcdLog] },
      ),
    );
    closeSync(etcdLog);
    const apiLog = logFd('kube-apiserver.log');
    children.push(
      spawn(
        'nice',
        [
          '-n',
          '5',
          apiserver,
          `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${ports.api}`,
          `--cert-dir=${dir}`,
          `--tls-cert-file=${dir}/apiserver.crt`,
          `--tls-private-key-file=${dir}/apiserver.key`,
          `--token-auth-file=${dir}/tokens.csv`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${dir}/sa.pub`,
          `--service-account-signing-key-file=${dir}/sa.key`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--allow-privileged=true',
          // No controllers run here: no service-account token controller, no quota controller, so the
          // admission plugins that wait for them are off (as in envtest).
          '--disable-admission-plugins=ServiceAccount,ResourceQuota',
          '--endpoint-reconciler-type=none',
          '--profiling=false',
          '--v=0',
        ],
        { stdio: ['ignore', apiLog, apiLog] },
      ),
    );
    closeSync(apiLog);
    const server = `https://127.0.0.1:${ports.api}`;
    const ca = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const deadline = Date.now() + 170_000;
    for (;;) {
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) {
        throw new Error(
          `${dead === children[0] ? 'etcd' : 'kube-apiserver'} exited (${dead.exitCode}):\n${tail(path.join(dir, dead === children[0] ? 'etcd.log' : 'kube-apiserver.log'))}`,
        );
      }
      if ((await readyz(server, ca, tokens.admin!)) === 200) break;
      if (Date.now() > deadline)
        throw new Error(`kube-apiserver not ready:\n${tail(path.join(dir, 'kube-apiserver.log'))}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const context = 'sentinel-test';
    const kubeconfigFor = (user: string) => {
      const token = tokens[user];
      if (!token) throw new Error(`no token for ${user}: name it in startTestCluster's users`);
      const file = path.join(dir, `kubeconfig-${user}`);
      writeFileSync(file, kubeconfigYaml({ server, ca, token, user, context }), { mode: 0o600 });
      return file;
    };
    const kubeconfig = kubeconfigFor('admin');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of readObjects(KEDA_CRDS)) await api.create(crd);
    await waitFor(async () => {
      for (const crd of readObjects(KEDA_CRDS)) {
        const live = (await api.read(crd as { metadata: { name: string } })) as {
          status?: { conditions?: Array<{ type: string; status: string }> };
        };
        if (!live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
          return false;
      }
      return true;
    }, 'KEDA CRDs established');
    mkdirSync(path.join(dir, 'work'), { recursive: true });
    return {
      dir,
      server,
      context,
      kubeconfig,
      kc,
      api,
      kubeconfigFor,
      async stop() {
        await stopAll();
        process.off('exit', onExit);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    process.off('exit', onExit);
    // The error carries the log tail already.
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Polls `check` every 200 ms until it is true; throws naming `what` after 60 s. */
export async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs the built CLI exactly as inside a pod: a private mount namespace (`unshare --mount
 * --propagation private`, root) where /var/run/secrets/kubernetes.io/serviceaccount holds a real
 * ServiceAccount token (TokenRequest API), the cluster's ca.crt and the namespace, with
 * KUBERNETES_SERVICE_HOST/PORT set and no kubeconfig anywhere (HOME is an empty directory), which
 * is what a kubelet gives a container. The ServiceAccount is created when it does not exist; bind
 * it to the roles the command needs first.
 */
export async function runAsPod(
  cluster: TestCluster,
  o: { namespace: string; serviceAccount: string; args: string[]; env?: Record<string, string> },
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({
      namespace: o.namespace,
      body: { metadata: { name: o.serviceAccount } },
    });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
  const token = await core.createNamespacedServiceAccountToken({
    name: o.serviceAccount,
    namespace: o.namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-pod-'));
  const sa = path.join(dir, 'serviceaccount');
  mkdirSync(sa);
  writeFileSync(path.join(sa, 'token'), token.status?.token ?? '');
  writeFileSync(path.join(sa, 'ca.crt'), readFileSync(path.join(cluster.dir, 'ca.crt')));
  writeFileSync(path.join(sa, 'namespace'), o.namespace);
  const home = path.join(dir, 'home');
  mkdirSync(home);
  const url = new URL(cluster.server);
  // A tmpfs on /run/secrets (or on /run where the host has no /run/secrets, so nothing is created
  // on the host) hides the host's directory only inside the namespace.
  const script = [
    'set -e',
    'if [ -d /run/secrets ]; then m=/run/secrets; else m=/run; fi',
    'mount -t tmpfs -o size=1m,mode=0755 tmpfs "$m"',
    'mkdir -p /var/run/secrets/kubernetes.io/serviceaccount',
    `cp ${sa}/token ${sa}/ca.crt ${sa}/namespace /var/run/secrets/kubernetes.io/serviceaccount/`,
    'exec "$@"',
  ].join('\n');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    NO_COLOR: '1',
    KUBERNETES_SERVICE_HOST: url.hostname,
    KUBERNETES_SERVICE_PORT: url.port,
    ...o.env,
  };
  const { execa } = await import('execa');
  try {
    const r = await execa(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'pod',
        'node',
        path.join(repoRoot, 'bin/run.js'),
        ...o.args,
      ],
      { env, extendEnv: false, reject: false, stdin: 'ignore', cwd: home },
    );
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One REST request as `admin` (or with `token`); JSON in and out, the status code instead of a throw. */
export async function adminRequest<T = Record<string, unknown>>(
  cluster: TestCluster,
  method: string,
  urlPath: string,
  body?: unknown,
  token?: string,
  contentType = 'application/json',
): Promise<{ status: number; body: T }> {
  const opts: https.RequestOptions = {};
  await cluster.kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = { ...(opts.headers as Record<string, string>) };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  return new Promise((resolve, reject) => {
    const req = https.request(`${cluster.server}${urlPath}`, { method, ca: opts.ca, headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

/** A token of a ServiceAccount from the TokenRequest API, as the kubelet gets it for a pod. */
export async function serviceAccountToken(
  cluster: TestCluster,
  namespace: string,
  sa: string,
): Promise<string> {
  const r = await adminRequest<{ status?: { token?: string } }>(
    cluster,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  );
  if (r.status !== 201 || !r.body.status?.token)
    throw new Error(`TokenRequest for ${namespace}/${sa}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.status.token;
}

export interface PodContainer {
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
}

/**
 * What a kubelet makes of a sentinel-ctl container, for runAsPod: its env (values, and secretKeyRef
 * read from the Secret with the kubelet's rights, not the pod's) plus `extra` (what controllers
 * inject, e.g. JOB_COMPLETION_INDEX), and its args with `$(VAR)` expanded from that env.
 */
export async function podCommand(
  cluster: TestCluster,
  namespace: string,
  container: PodContainer,
  extra: Record<string, string> = {},
): Promise<{ args: string[]; env: Record<string, string> }> {
  if (JSON.stringify(container.command) !== '["sentinel-ctl"]')
    throw new Error(
      `podCommand: the container's command is ${JSON.stringify(container.command)}, not sentinel-ctl`,
    );
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const ref = (e.valueFrom as { secretKeyRef?: { name: string; key: string } } | undefined)?.secretKeyRef;
    if (ref) {
      const secret = await adminRequest<{ data?: Record<string, string> }>(
        cluster,
        'GET',
        `/api/v1/namespaces/${namespace}/secrets/${ref.name}`,
      );
      const value = secret.body.data?.[ref.key];
      if (secret.status !== 200 || value === undefined)
        throw new Error(
          `podCommand: env ${e.name}: no key ${ref.key} in Secret ${ref.name} (${secret.status})`,
        );
      env[e.name] = Buffer.from(value, 'base64').toString('utf8');
    } else if (e.valueFrom)
      throw new Error(`podCommand: env ${e.name} uses a valueFrom that is not emulated`);
    else env[e.name] = e.value ?? '';
  }
  Object.assign(env, extra);
  const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => env[n] ?? m);
  return { args: (container.args ?? []).map(expand), env };
}
