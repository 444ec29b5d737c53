/**
 * src/k8s/ — the Kubernetes cluster as a target of sentinel-ctl (`up --k8s`, `status --k8s`,
 * `down --k8s`), next to the local stack of src/services/.
 *
 * This file: finding the cluster the way kubectl does (`--kubeconfig`, then KUBECONFIG, then
 * ~/.kube/config, then the in-cluster service account), and a thin REST client over it. Credentials
 * (tokens, client certificates, exec plugins) come from @kubernetes/client-node's KubeConfig; the
 * requests are plain HTTPS with JSON in and out, so objects stay exactly as the API server wrote
 * them (the generated typed models would drop fields they do not know, such as a CRD's).
 *
 * Errors always name the context and the server: exit 2 for a kubeconfig that cannot be used as
 * given, exit 3 when the cluster cannot be reached or refuses the credentials.
 */
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describeError, EnvironmentError, UserError } from '../lib/errors.js';
import { DEFAULT_NAMESPACE } from './flags.js';

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** A Kubernetes object as JSON. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** What the API server knows of a kind (from discovery). */
export interface ResourceInfo {
  /** Plural resource name in URLs (`deployments`). */
  name: string;
  namespaced: boolean;
  verbs: string[];
}

/** A non-2xx answer of the API server, with its Status object's reason and message. */
export class K8sApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly urlPath: string,
  ) {
    super(message);
    this.name = 'K8sApiError';
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof K8sApiError && error.status === 404;
}

const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The source a kubeconfig came from, for messages. */
type Source = { kind: 'flag' | 'env' | 'home'; files: string[] } | { kind: 'in-cluster' };

function loadKubeConfig(o: ClusterOptions): { kc: KubeConfig; source: Source } {
  const kc = new KubeConfig();
  const load = (files: string[], kind: 'flag' | 'env' | 'home') => {
    for (const f of files) {
      if (!existsSync(f)) {
        throw new UserError(
          `kubeconfig ${f} does not exist (from ${kind === 'flag' ? '--kubeconfig' : 'KUBECONFIG'}).`,
          {
            code: 'KUBECONFIG',
            suggestion: 'Pass --kubeconfig with an existing file, or fix KUBECONFIG.',
          },
        );
      }
    }
    try {
      kc.loadFromFile(files[0]!);
      for (const f of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more);
      }
    } catch (error) {
      // client-node reads an empty file or a YAML scalar as a config and then fails on a missing
      // field (a TypeError); say what is wrong with the file instead.
      const why =
        error instanceof TypeError
          ? 'it is empty or not a kubeconfig (a YAML document with clusters, contexts and users)'
          : describeError(error).split('\n')[0];
      throw new UserError(`kubeconfig ${files.join(':')} cannot be read: ${why}`, {
        code: 'KUBECONFIG',
        suggestion: 'Check the file with `kubectl config view --kubeconfig FILE`.',
      });
    }
    return { kc, source: { kind, files } as Source };
  };
  if (o.kubeconfig) return load([path.resolve(o.kubeconfig)], 'flag');
  const env = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (env.length > 0) return load(env, 'env');
  const home = path.join(os.homedir(), '.kube', 'config');
  if (existsSync(home)) return load([home], 'home');
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(path.join(IN_CLUSTER_DIR, 'token'))) {
    kc.loadFromCluster();
    return { kc, source: { kind: 'in-cluster' } };
  }
  throw new EnvironmentError(
    'No Kubernetes cluster configured: no --kubeconfig, no KUBECONFIG, no ~/.kube/config, not in a pod.',
    {
      code: 'NO_KUBECONFIG',
      suggestion:
        'Pass --kubeconfig FILE (and --context NAME), or run inside the cluster with a service account.',
    },
  );
}

export class Cluster {
  /** Context name ("in-cluster" inside a pod). */
  readonly context: string;
  readonly server: string;
  /**
   * -n, else the context's namespace, else (in a pod) the ServiceAccount's, as kubectl picks it;
   * else `sentinel` (kubectl's last resort is `default`), docs/k8s.md "Which cluster".
   */
  readonly namespace: string;
  readonly namespaceFromFlag: boolean;
  private readonly agent: https.Agent;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();

  constructor(
    readonly kc: KubeConfig,
    o: ClusterOptions,
    source: Source,
  ) {
    if (o.context) {
      if (!kc.getContextObject(o.context)) {
        const known = kc.getContexts().map((c) => c.name);
        throw new UserError(
          `Context "${o.context}" is not in the kubeconfig (${known.join(', ') || 'it has none'}).`,
          {
            code: 'KUBECONFIG',
            suggestion: 'List them with `kubectl config get-contexts`.',
          },
        );
      }
      kc.setCurrentContext(o.context);
    }
    this.context = source.kind === 'in-cluster' ? 'in-cluster' : kc.getCurrentContext();
    const ctx = kc.getContextObject(kc.getCurrentContext());
    if (source.kind !== 'in-cluster' && !ctx) {
      throw new UserError(`The kubeconfig (${source.files.join(':')}) has no current context.`, {
        code: 'KUBECONFIG',
        suggestion: 'Pass --context NAME, or set one with `kubectl config use-context NAME`.',
      });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) {
      throw new UserError(`Context "${this.context}" names no cluster with a server in the kubeconfig.`, {
        code: 'KUBECONFIG',
        suggestion: 'Check it with `kubectl config view`.',
      });
    }
    this.server = cluster.server.replace(/\/+$/, '');
    let inClusterNs: string | undefined;
    if (source.kind === 'in-cluster') {
      try {
        inClusterNs = readFileSync(path.join(IN_CLUSTER_DIR, 'namespace'), 'utf8').trim();
      } catch {}
    }
    this.namespaceFromFlag = Boolean(o.namespace);
    // In a pod the ServiceAccount's namespace file (client-node copies it untrimmed into the context).
    this.namespace =
      o.namespace || (source.kind === 'in-cluster' ? inClusterNs : ctx?.namespace) || DEFAULT_NAMESPACE;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  }

  /** "context X (server Y)", for every message about this cluster. */
  get label(): string {
    return `context "${this.context}" (${this.server})`;
  }

  /**
   * The options every HTTPS request to the API server takes: `headers` plus this context's
   * credentials (what KubeConfig puts on the options: bearer token, exec plugin output, Basic auth)
   * and TLS material, over the one keep-alive pool. Throws what KubeConfig throws.
   */
  private async credentials(headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions & { auth?: string } = { headers: { ...headers } };
    await this.kc.applyToHTTPSOptions(opts);
    const all: Record<string, string> = { ...(opts.headers as Record<string, string>) };
    if (opts.auth) all.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return {
      headers: all,
      agent: this.agent,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      pfx: opts.pfx,
      passphrase: opts.passphrase,
      ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
      ...(opts.servername ? { servername: opts.servername } : {}),
    };
  }

  /** One request; JSON in and out. Throws K8sApiError for a non-2xx answer, EnvironmentError when unreachable. */
  async request<T = unknown>(
    method: string,
    urlPath: string,
    o: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {},
  ): Promise<T> {
    const url = new URL(this.server + urlPath);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    let options: https.RequestOptions;
    try {
      options = await this.credentials({
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
      });
    } catch (error) {
      throw new UserError(`Credentials of ${this.label} cannot be used: ${describeError(error)}`, {
        code: 'KUBECONFIG',
        suggestion: 'Check the user entry of the context with `kubectl config view`.',
      });
    }
    return new Promise<T>((resolve, reject) => {
      const req = https.request(url, { ...options, method, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          if (status >= 200 && status < 300) return resolve(json as T);
          const s = (json ?? {}) as { reason?: string; message?: string };
          reject(
            new K8sApiError(
              status,
              s.reason ?? String(status),
              s.message ?? (text.trim() || `HTTP ${status}`),
              method,
              urlPath,
            ),
          );
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (error) =>
        reject(
          new EnvironmentError(`Kubernetes API of ${this.label} is unreachable: ${describeError(error)}`, {
            code: 'CLUSTER_UNREACHABLE',
            suggestion:
              'Check the server address and your network (`kubectl cluster-info`), or pick another --context.',
            cause: error,
          }),
        ),
      );
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /**
   * A `fetch` for the API server's service proxy (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/...`)
   * with this context's credentials and TLS: the transport the local diagnose collectors take to
   * read the data plane of the cluster (docs/k8s.md "Data plane"). Only the API server's own
   * URLs are accepted; the proxied service's answer (any status) is returned as is.
   */
  fetch(): typeof fetch {
    return async (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (`${url.protocol}//${url.host}` !== new URL(this.server).origin) {
        throw new Error(`${url.origin} is not the API server of ${this.label}`);
      }
      const options = await this.credentials({});
      const signal = init?.signal ?? undefined;
      return new Promise<Response>((resolve, reject) => {
        const req = https.request(url, { ...options, method: init?.method ?? 'GET', signal }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            const status = res.statusCode ?? 502;
            // The API server's own refusal (no such Service, no endpoints, not allowed, the
            // backend unreachable) is a Status object: its message says why, so it is the error.
            if (status >= 400 && String(res.headers['content-type']).startsWith('application/json')) {
              try {
                const st = JSON.parse(body.toString('utf8')) as { kind?: string; message?: string };
                if (st.kind === 'Status' && st.message) {
                  reject(new Error(`the API server's service proxy answered ${status}: ${st.message}`));
                  return;
                }
              } catch {
                // Not JSON after all: the service's own answer.
              }
            }
            resolve(
              new Response(status === 204 ? null : body, {
                status,
                headers: { 'content-type': String(res.headers['content-type'] ?? 'text/plain') },
              }),
            );
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    };
  }

  /** Base URL of a Service's port through the API server's service proxy (no trailing slash). */
  serviceProxyUrl(namespace: string, service: string, port: string | number): string {
    return `${this.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}:${encodeURIComponent(String(port))}/proxy`;
  }

  /** GET /version: reachability and credentials in one request. */
  async version(): Promise<string> {
    try {
      const v = await this.request<{ gitVersion: string }>('GET', '/version');
      return v.gitVersion;
    } catch (error) {
      throw this.explain(error, 'read the server version');
    }
  }

  /** Maps an API error to the user-facing kinds: credentials refused → exit 3 with the context named. */
  explain(error: unknown, action: string): Error {
    if (!(error instanceof K8sApiError)) return error as Error;
    if (error.status === 401) {
      return new EnvironmentError(`${this.label} refused the credentials (401 Unauthorized) to ${action}.`, {
        code: 'UNAUTHORIZED',
        suggestion: 'Renew the token or certificate of this context (`kubectl auth whoami`).',
      });
    }
    if (error.status === 403) {
      return new EnvironmentError(`${this.label}: not allowed to ${action}: ${error.message}`, {
        code: 'FORBIDDEN',
        suggestion:
          'Bind the role `generate k8s` writes in rbac/sentinel-ctl.yaml: sentinel-ctl-read for status/diagnose/tune, sentinel-ctl-deploy for up/down (docs/k8s.md "Permissions").',
      });
    }
    return new EnvironmentError(
      `${this.label} answered ${error.status} ${error.reason} to ${action}: ${error.message}`,
      { code: 'API_ERROR', suggestion: 'The API server refused the request; its message says why.' },
    );
  }

  /** Discovery of one group/version, cached: kind → resource. */
  private resources(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let p = this.discovery.get(apiVersion);
    if (!p) {
      const urlPath = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.request<{ resources: Array<ResourceInfo & { kind: string }> }>('GET', urlPath).then(
        (list) => {
          const m = new Map<string, ResourceInfo>();
          for (const r of list.resources) {
            if (!r.name.includes('/'))
              m.set(r.kind, { name: r.name, namespaced: r.namespaced, verbs: r.verbs });
          }
          return m;
        },
        (error) => {
          this.discovery.delete(apiVersion);
          if (isNotFound(error)) return new Map<string, ResourceInfo>();
          throw error;
        },
      );
      this.discovery.set(apiVersion, p);
    }
    return p;
  }

  /** The resource of a kind; exit 3 when the cluster does not serve it (a CRD not installed). */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const r = (await this.resources(apiVersion)).get(kind);
    if (!r) {
      throw new EnvironmentError(`${this.label} does not serve ${kind} (${apiVersion}).`, {
        code: 'KIND_UNKNOWN',
        suggestion: apiVersion.startsWith('keda.sh/')
          ? 'Install KEDA in the cluster first (its CRDs define ScaledObject and TriggerAuthentication).'
          : 'Check the apiVersion against `kubectl api-resources`.',
      });
    }
    return r;
  }

  /** URL path of a kind's collection in a namespace (or cluster-wide). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return r.namespaced && namespace ? `${base}/namespaces/${namespace}/${r.name}` : `${base}/${r.name}`;
  }

  async objectPath(ref: ObjectRef): Promise<string> {
    return `${await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  }

  /** GET one object; undefined when it does not exist. */
  async get<T = K8sObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', await this.objectPath(ref));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list<T = K8sObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    query: Record<string, string> = {},
  ): Promise<T[]> {
    const r = await this.request<{ items: T[] }>(
      'GET',
      await this.collectionPath(apiVersion, kind, namespace),
      { query },
    );
    return r.items;
  }
}

/** Identifies an object: apiVersion, kind, namespace (namespaced kinds) and name. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function refOf(o: K8sObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
}

export function refLabel(r: ObjectRef): string {
  return `${r.kind}/${r.name}${r.namespace ? ` (${r.namespace})` : ''}`;
}

/** Loads the kubeconfig (or in-cluster config) and checks the context; no request is made. */
export function connectCluster(o: ClusterOptions): Cluster {
  const { kc, source } = loadKubeConfig(o);
  return new Cluster(kc, o, source);
}
