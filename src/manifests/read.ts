import { type Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import { isConnectionString, maskPasswords, readParams } from './conn-string.js';
import { findArgSetting, readConfSetting } from './pg-conf.js';
import { type Quantity, toQuantity } from './quantity.js';
import type { GeneratedObject, K8sObject, ManifestTree, YamlFile } from './tree.js';
import { yamlFileOf } from './tree.js';
import type { PathSeg } from './yaml-edit.js';

/** Where a value lives, precisely enough to edit it. */
export type ValueSite =
  | {
      type: 'yaml';
      file: string;
      docIndex: number;
      path: PathSeg[];
      line: number;
      /** `base64` for Secret `data` values. */
      encoding: 'plain' | 'base64';
      object: K8sObject;
    }
  | { type: 'env-file'; file: string; key: string; line: number }
  | { type: 'literal'; file: string; docIndex: number; path: PathSeg[]; line: number };

export interface ContainerResources {
  requests: { cpu?: Quantity; memory?: Quantity };
  limits: { cpu?: Quantity; memory?: Quantity };
}

export interface EnvVar {
  name: string;
  from: 'value' | 'configMapKeyRef' | 'secretKeyRef' | 'fieldRef' | 'resourceFieldRef' | 'envFrom' | 'none';
  /** The value when known: written inline, or read from a ConfigMap/Secret found in the tree. */
  value?: string;
  /** The value comes from a Secret: never print it unmasked. */
  secret: boolean;
  ref?: { kind: 'ConfigMap' | 'Secret'; name: string; key: string; optional?: boolean };
  /** False when the value comes from an object that is not in the tree (the reason says which). */
  resolved: boolean;
  unresolvedReason?: string;
  /** Where the value is written (a Secret with both `data` and `stringData` gives two). */
  sites: ValueSite[];
  /** Line of the env entry (or of the envFrom entry). */
  line: number;
  /** The same name appears more than once in `env` (Kubernetes keeps the last). */
  duplicate: boolean;
}

export interface ContainerInfo {
  name: string;
  image?: string;
  init: boolean;
  /** Index in `containers` / `initContainers`. */
  index: number;
  resources: ContainerResources;
  /** Explicit `env` entries, in file order. */
  env: EnvVar[];
  /** Variables from `envFrom`, expanded where the source is in the tree. */
  envFrom: EnvVar[];
  args: string[];
  command: string[];
  line: number;
}

export interface Workload {
  object: K8sObject;
  kind: 'Deployment' | 'StatefulSet';
  replicas?: number;
  containers: ContainerInfo[];
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
export const POD_SPEC = ['spec', 'template', 'spec'] as const;

function docOf(tree: ManifestTree, obj: K8sObject): { file: YamlFile; doc: Document.Parsed } {
  const file = yamlFileOf(tree, obj);
  return { file, doc: file.docs[obj.docIndex]! };
}

function lineAt(file: YamlFile, node: unknown): number {
  const r = (node as Node | null | undefined)?.range;
  return r ? file.lineCounter.linePos(r[0]).line : 0;
}

function js(node: unknown, doc: Document): unknown {
  if (node === undefined || node === null) return undefined;
  return (node as Node).toJS?.(doc, { maxAliasCount: -1 }) ?? node;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

/** Values of a ConfigMap (`data`) or Secret (`stringData` over decoded `data`), with their sites. */
export interface DataObject {
  object: K8sObject;
  values: Record<string, string>;
  sites: Record<string, ValueSite[]>;
  /** Keys whose base64 `data` does not decode to UTF-8 text (binary, or malformed). */
  binary: string[];
}

function pushTo<T>(map: Record<string, T[]>, key: string, v: T): void {
  const list = map[key] ?? [];
  list.push(v);
  map[key] = list;
}

/**
 * Reads are memoised per tree: a loaded tree never changes (edits produce new text), and
 * resolving every env reference would otherwise re-read the same ConfigMap for each container.
 */
const dataCache = new WeakMap<ManifestTree, Map<K8sObject, DataObject>>();
const workloadCache = new WeakMap<ManifestTree, Workload[]>();

function readData(tree: ManifestTree, obj: K8sObject): DataObject {
  let cache = dataCache.get(tree);
  if (!cache) {
    cache = new Map();
    dataCache.set(tree, cache);
  }
  const hit = cache.get(obj);
  if (hit) return hit;
  const d = readDataUncached(tree, obj);
  cache.set(obj, d);
  return d;
}

function readDataUncached(tree: ManifestTree, obj: K8sObject): DataObject {
  const { file, doc } = docOf(tree, obj);
  const values: Record<string, string> = {};
  const sites: Record<string, ValueSite[]> = {};
  const binary: string[] = [];
  const add = (key: string, value: string, site: ValueSite, override: boolean) => {
    if (override || !(key in values)) values[key] = value;
    pushTo(sites, key, site);
  };
  const sections: Array<[string, 'plain' | 'base64']> =
    obj.kind === 'Secret'
      ? [
          ['data', 'base64'],
          ['stringData', 'plain'],
        ]
      : [['data', 'plain']];
  for (const [section, encoding] of sections) {
    const map = doc.get(section, true);
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const raw = asString(js(pair.value, doc));
      if (raw === undefined) continue;
      const site: ValueSite = {
        type: 'yaml',
        file: file.display,
        docIndex: obj.docIndex,
        path: [section, key],
        line: lineAt(file, pair.key),
        encoding,
        object: obj,
      };
      if (encoding === 'base64') {
        const decoded = decodeBase64Text(raw);
        if (decoded === undefined) {
          binary.push(key);
          pushTo(sites, key, site);
          continue;
        }
        add(key, decoded, site, false);
      } else add(key, raw, site, true);
    }
  }
  return { object: obj, values, sites, binary };
}

/** Decodes base64 that holds UTF-8 text; undefined for binary data or malformed (non-canonical) base64. */
export function decodeBase64Text(b64: string): string | undefined {
  const compact = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  const buf = Buffer.from(compact, 'base64');
  const text = buf.toString('utf8');
  if (text.includes('\uFFFD') || Buffer.from(text, 'utf8').toString('base64') !== compact) return undefined;
  // Control characters other than tab and line breaks mean binary data (a keystore, a DER cert).
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text)) return undefined;
  return text;
}

export function readConfigMaps(tree: ManifestTree): DataObject[] {
  return tree.objects.filter((o) => o.kind === 'ConfigMap').map((o) => readData(tree, o));
}

/** Secrets with decoded values. The values are secrets: mask them before printing. */
export function readSecrets(tree: ManifestTree): DataObject[] {
  return tree.objects.filter((o) => o.kind === 'Secret').map((o) => readData(tree, o));
}

interface Source {
  values: Record<string, string>;
  sites: Record<string, ValueSite[]>;
  where: string;
}

function sourceFor(
  tree: ManifestTree,
  kind: 'ConfigMap' | 'Secret',
  name: string,
  namespace: string | undefined,
): Source | { missing: string } {
  const objs = tree.objects.filter(
    (o) =>
      o.kind === kind &&
      o.name === name &&
      (namespace === undefined || o.namespace === undefined || o.namespace === namespace),
  );
  if (objs.length > 1) {
    return {
      missing: `${kind} ${name} is defined ${objs.length} times (${objs.map((o) => `${o.file}:${o.line}`).join(', ')})`,
    };
  }
  if (objs[0]) {
    const d = readData(tree, objs[0]);
    return { values: d.values, sites: d.sites, where: `${objs[0].file}:${objs[0].line}` };
  }
  const gen: GeneratedObject | undefined = tree.generated.find((g) => g.kind === kind && g.name === name);
  if (gen) {
    const values: Record<string, string> = {};
    const sites: Record<string, ValueSite[]> = {};
    for (const k of gen.keys) {
      values[k.key] = k.value;
      sites[k.key] = [{ ...k.site }];
    }
    return { values, sites, where: `${gen.kustomization}:${gen.line}` };
  }
  return { missing: `${kind} ${name} is not in the manifest tree` };
}

function readContainer(
  tree: ManifestTree,
  obj: K8sObject,
  file: YamlFile,
  doc: Document.Parsed,
  node: unknown,
  index: number,
  init: boolean,
): ContainerInfo | undefined {
  if (!isMap(node)) return undefined;
  const c = js(node, doc) as Record<string, unknown>;
  const name = asString(c.name) ?? `#${index}`;
  const res = (c.resources ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const q = (section: string, key: string) => toQuantity(res[section]?.[key]);
  const resources: ContainerResources = { requests: {}, limits: {} };
  for (const section of ['requests', 'limits'] as const) {
    for (const key of ['cpu', 'memory'] as const) {
      const v = q(section, key);
      if (v) resources[section][key] = v;
    }
  }
  const base = [...POD_SPEC, init ? 'initContainers' : 'containers', index];
  const env: EnvVar[] = [];
  const envNode = node.get('env', true);
  const names = new Map<string, number>();
  if (isSeq(envNode)) {
    envNode.items.forEach((item, i) => {
      const e = js(item, doc) as Record<string, unknown> | undefined;
      const n = asString(e?.name);
      if (!e || n === undefined) return;
      names.set(n, (names.get(n) ?? 0) + 1);
      const line = lineAt(file, item);
      const vf = e.valueFrom as Record<string, Record<string, unknown>> | undefined;
      if (vf?.configMapKeyRef || vf?.secretKeyRef) {
        const kind = vf.configMapKeyRef ? 'ConfigMap' : 'Secret';
        const r = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
        const refName = asString(r.name) ?? '';
        const key = asString(r.key) ?? '';
        const src = sourceFor(tree, kind, refName, obj.namespace);
        const ref = { kind, name: refName, key, ...(r.optional === true ? { optional: true } : {}) } as const;
        const base: Omit<EnvVar, 'resolved' | 'sites'> = {
          name: n,
          from: vf.configMapKeyRef ? 'configMapKeyRef' : 'secretKeyRef',
          secret: kind === 'Secret',
          ref,
          line,
          duplicate: false,
        };
        if ('missing' in src)
          env.push({ ...base, resolved: false, unresolvedReason: src.missing, sites: [] });
        else if (!(key in src.values)) {
          env.push({
            ...base,
            resolved: false,
            unresolvedReason: `${kind} ${refName} (${src.where}) has no key ${key}`,
            sites: src.sites[key] ?? [],
          });
        } else env.push({ ...base, value: src.values[key], resolved: true, sites: src.sites[key] ?? [] });
        return;
      }
      if (vf) {
        env.push({
          name: n,
          from: vf.fieldRef ? 'fieldRef' : vf.resourceFieldRef ? 'resourceFieldRef' : 'none',
          secret: false,
          resolved: false,
          unresolvedReason: 'set by Kubernetes at run time',
          sites: [],
          line,
          duplicate: false,
        });
        return;
      }
      const value = asString(e.value);
      env.push({
        name: n,
        from: 'value',
        ...(value !== undefined ? { value } : {}),
        secret: false,
        resolved: true,
        sites: [
          {
            type: 'yaml',
            file: file.display,
            docIndex: obj.docIndex,
            path: [...base, 'env', i, 'value'],
            line,
            encoding: 'plain',
            object: obj,
          },
        ],
        line,
        duplicate: false,
      });
    });
  }
  for (const e of env) e.duplicate = (names.get(e.name) ?? 0) > 1;
  const envFrom: EnvVar[] = [];
  const efNode = node.get('envFrom', true);
  if (isSeq(efNode)) {
    for (const item of efNode.items) {
      const e = js(item, doc) as Record<string, Record<string, unknown> | string | undefined> | undefined;
      if (!e) continue;
      const r = (e.configMapRef ?? e.secretRef) as Record<string, unknown> | undefined;
      if (!r) continue;
      const kind = e.configMapRef ? 'ConfigMap' : 'Secret';
      const prefix = typeof e.prefix === 'string' ? e.prefix : '';
      const refName = asString(r.name) ?? '';
      const src = sourceFor(tree, kind, refName, obj.namespace);
      const line = lineAt(file, item);
      if ('missing' in src) {
        envFrom.push({
          name: `${prefix}*`,
          from: 'envFrom',
          secret: kind === 'Secret',
          ref: { kind, name: refName, key: '*' },
          resolved: false,
          unresolvedReason: src.missing,
          sites: [],
          line,
          duplicate: false,
        });
        continue;
      }
      for (const [key, value] of Object.entries(src.values)) {
        envFrom.push({
          name: prefix + key,
          from: 'envFrom',
          value,
          secret: kind === 'Secret',
          ref: { kind, name: refName, key },
          resolved: true,
          sites: src.sites[key] ?? [],
          line,
          duplicate: false,
        });
      }
    }
  }
  const strings = (v: unknown) => (Array.isArray(v) ? v.map((x) => asString(x) ?? '') : []);
  return {
    name,
    ...(asString(c.image) ? { image: asString(c.image) } : {}),
    init,
    index,
    resources,
    env,
    envFrom,
    args: strings(c.args),
    command: strings(c.command),
    line: lineAt(file, node),
  };
}

/** The value of an environment variable as the container sees it: `env` wins over `envFrom`. */
export function effectiveEnv(container: ContainerInfo, name: string): EnvVar | undefined {
  const explicit = container.env.filter((e) => e.name === name);
  if (explicit.length > 0) return explicit[explicit.length - 1];
  const from = container.envFrom.filter((e) => e.name === name);
  return from[from.length - 1];
}

/** Deployments and StatefulSets with replicas, containers, resources and env (refs resolved). */
export function readWorkloads(tree: ManifestTree): Workload[] {
  const hit = workloadCache.get(tree);
  if (hit) return hit;
  const out: Workload[] = [];
  for (const obj of tree.objects) {
    if (!WORKLOAD_KINDS.has(obj.kind)) continue;
    const { file, doc } = docOf(tree, obj);
    const replicas = asNumber(js(doc.getIn(['spec', 'replicas'], true), doc));
    const containers: ContainerInfo[] = [];
    for (const [key, init] of [
      ['containers', false],
      ['initContainers', true],
    ] as const) {
      const list = doc.getIn([...POD_SPEC, key], true);
      if (!isSeq(list)) continue;
      list.items.forEach((n, i) => {
        const c = readContainer(tree, obj, file, doc, n, i, init);
        if (c) containers.push(c);
      });
    }
    out.push({
      object: obj,
      kind: obj.kind as Workload['kind'],
      ...(replicas !== undefined ? { replicas } : {}),
      containers,
    });
  }
  workloadCache.set(tree, out);
  return out;
}

export interface HpaScalingPolicy {
  type: string;
  value: number;
  periodSeconds: number;
}

export interface HpaScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: string;
  policies: HpaScalingPolicy[];
}

export interface ScaledObjectTrigger {
  type: string;
  name?: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string; kind?: string };
  metricType?: string;
  line: number;
}

export interface ScaledObjectInfo {
  object: K8sObject;
  scaleTargetRef?: { name: string; kind?: string; apiVersion?: string };
  pollingInterval?: number;
  cooldownPeriod?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  idleReplicaCount?: number;
  triggers: ScaledObjectTrigger[];
  /** spec.advanced.horizontalPodAutoscalerConfig.behavior */
  behavior?: { scaleUp?: HpaScalingRules; scaleDown?: HpaScalingRules };
}

function rules(v: unknown): HpaScalingRules | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  const policies = Array.isArray(r.policies)
    ? r.policies.map((p: Record<string, unknown>) => ({
        type: asString(p?.type) ?? '',
        value: asNumber(p?.value) ?? Number.NaN,
        periodSeconds: asNumber(p?.periodSeconds) ?? Number.NaN,
      }))
    : [];
  const stab = asNumber(r.stabilizationWindowSeconds);
  const sel = asString(r.selectPolicy);
  return {
    ...(stab !== undefined ? { stabilizationWindowSeconds: stab } : {}),
    ...(sel !== undefined ? { selectPolicy: sel } : {}),
    policies,
  };
}

/** KEDA ScaledObjects: polling, cooldown, replica bounds, triggers with metadata, HPA behavior. */
export function readScaledObjects(tree: ManifestTree): ScaledObjectInfo[] {
  const out: ScaledObjectInfo[] = [];
  for (const obj of tree.objects) {
    if (obj.kind !== 'ScaledObject') continue;
    const { file, doc } = docOf(tree, obj);
    const spec = (js(doc.get('spec', true), doc) ?? {}) as Record<string, unknown>;
    const ref = spec.scaleTargetRef as Record<string, unknown> | undefined;
    const trigNode = doc.getIn(['spec', 'triggers'], true);
    const triggers: ScaledObjectTrigger[] = [];
    if (isSeq(trigNode)) {
      for (const item of trigNode.items) {
        const t = (js(item, doc) ?? {}) as Record<string, unknown>;
        const meta = (t.metadata ?? {}) as Record<string, unknown>;
        const auth = t.authenticationRef as Record<string, unknown> | undefined;
        triggers.push({
          type: asString(t.type) ?? '',
          ...(asString(t.name) ? { name: asString(t.name) } : {}),
          metadata: Object.fromEntries(
            Object.entries(meta).map(([k, v]) => [k, asString(v) ?? JSON.stringify(v)]),
          ),
          ...(auth && asString(auth.name)
            ? {
                authenticationRef: {
                  name: asString(auth.name)!,
                  ...(asString(auth.kind) ? { kind: asString(auth.kind) } : {}),
                },
              }
            : {}),
          ...(asString(t.metricType) ? { metricType: asString(t.metricType) } : {}),
          line: lineAt(file, item),
        });
      }
    }
    const behavior = (
      (spec.advanced as Record<string, unknown> | undefined)?.horizontalPodAutoscalerConfig as
        | Record<string, unknown>
        | undefined
    )?.behavior as Record<string, unknown> | undefined;
    const num = (k: string) => asNumber(spec[k]);
    const info: ScaledObjectInfo = { object: obj, triggers };
    if (ref && asString(ref.name)) {
      info.scaleTargetRef = {
        name: asString(ref.name)!,
        ...(asString(ref.kind) ? { kind: asString(ref.kind) } : {}),
        ...(asString(ref.apiVersion) ? { apiVersion: asString(ref.apiVersion) } : {}),
      };
    }
    for (const k of [
      'pollingInterval',
      'cooldownPeriod',
      'minReplicaCount',
      'maxReplicaCount',
      'idleReplicaCount',
    ] as const) {
      const v = num(k);
      if (v !== undefined) info[k] = v;
    }
    if (behavior) {
      const up = rules(behavior.scaleUp);
      const down = rules(behavior.scaleDown);
      info.behavior = { ...(up ? { scaleUp: up } : {}), ...(down ? { scaleDown: down } : {}) };
    }
    out.push(info);
  }
  return out;
}

/** Where PostgreSQL's max_connections is set, and to what. */
export interface MaxConnectionsSite {
  where: 'postgresql.conf' | 'args' | 'command' | 'operator-parameters';
  value: number;
  object: K8sObject;
  file: string;
  line: number;
  /** The ConfigMap key holding the conf text. */
  key?: string;
  container?: string;
  /** How to edit it. */
  site: ValueSite;
  /** For args/command: the item and the value's offsets inside it. */
  item?: { index: number; start: number; end: number };
}

const OPERATOR_KINDS = new Set(['Cluster', 'postgresql']);

/**
 * Finds max_connections in a ConfigMap `*.conf` key (postgresql.conf), in container args or
 * command (`-c max_connections=N`), and in CloudNativePG / Zalando cluster parameters.
 */
export function findMaxConnections(tree: ManifestTree): MaxConnectionsSite[] {
  const out: MaxConnectionsSite[] = [];
  for (const obj of tree.objects) {
    const { file, doc } = docOf(tree, obj);
    if (obj.kind === 'ConfigMap') {
      const data = doc.get('data', true);
      if (!isMap(data)) continue;
      for (const pair of data.items) {
        if (!isScalar(pair.key) || !String(pair.key.value).endsWith('.conf')) continue;
        const text = asString(js(pair.value, doc));
        if (text === undefined) continue;
        const hits = readConfSetting(text, 'max_connections');
        const key = String(pair.key.value);
        const valueLine = lineAt(file, pair.value);
        const block = isScalar(pair.value) && String(pair.value.type).startsWith('BLOCK');
        for (const h of hits) {
          const line = block ? valueLine + h.line : valueLine;
          out.push({
            where: 'postgresql.conf',
            value: Number(h.value),
            object: obj,
            file: file.display,
            line,
            key,
            site: {
              type: 'yaml',
              file: file.display,
              docIndex: obj.docIndex,
              path: ['data', key],
              line,
              encoding: 'plain',
              object: obj,
            },
          });
        }
      }
    } else if (WORKLOAD_KINDS.has(obj.kind)) {
      const list = doc.getIn([...POD_SPEC, 'containers'], true);
      if (!isSeq(list)) continue;
      list.items.forEach((cnode, ci) => {
        if (!isMap(cnode)) return;
        const cname = asString(js(cnode.get('name', true), doc)) ?? `#${ci}`;
        for (const field of ['command', 'args'] as const) {
          const seq = cnode.get(field, true);
          if (!isSeq(seq)) continue;
          const items = seq.items.map((i) => asString(js(i, doc)) ?? '');
          for (const s of findArgSetting(items, 'max_connections')) {
            const line = lineAt(file, seq.items[s.item]);
            out.push({
              where: field,
              value: Number(s.value),
              object: obj,
              file: file.display,
              line,
              container: cname,
              site: {
                type: 'yaml',
                file: file.display,
                docIndex: obj.docIndex,
                path: [...POD_SPEC, 'containers', ci, field, s.item],
                line,
                encoding: 'plain',
                object: obj,
              },
              item: { index: s.item, start: s.start, end: s.end },
            });
          }
        }
      });
    } else if (OPERATOR_KINDS.has(obj.kind) && /postgres|cnpg|zalan/.test(obj.apiVersion ?? '')) {
      const p = ['spec', 'postgresql', 'parameters', 'max_connections'];
      const node = doc.getIn(p, true);
      const v = asNumber(js(node, doc));
      if (v === undefined) continue;
      const line = lineAt(file, node);
      out.push({
        where: 'operator-parameters',
        value: v,
        object: obj,
        file: file.display,
        line,
        site: {
          type: 'yaml',
          file: file.display,
          docIndex: obj.docIndex,
          path: p,
          line,
          encoding: 'plain',
          object: obj,
        },
      });
    }
  }
  return out;
}

/** Where a connection string (DATABASE_URL…) is written, with the pool parameters it sets. */
export interface ConnectionStringSite {
  key: string;
  where:
    | 'env-value'
    | 'configmap'
    | 'secret-stringData'
    | 'secret-data'
    | 'env-file'
    | 'kustomize-literal'
    | 'kustomize-env-file';
  file: string;
  line: number;
  object?: K8sObject;
  /** The connection string with its password masked: safe to print. */
  masked: string;
  params: { pool_max_conns?: number; pool_min_conns?: number };
  /** A pool parameter is given twice: the site cannot be edited safely. */
  duplicateParam?: string;
  /** Containers that read this value (through env, valueFrom or envFrom). */
  usedBy: Array<{ workload: K8sObject; container: string }>;
  site: ValueSite;
}

/** A reference to a connection string the library cannot follow (object missing from the tree). */
export interface UnresolvedReference {
  key: string;
  workload: K8sObject;
  container: string;
  line: number;
  reason: string;
}

function siteKey(s: ValueSite): string {
  return s.type === 'env-file' ? `${s.file}#${s.key}` : `${s.file}#${s.docIndex}#${s.path.join('.')}`;
}

/**
 * Finds every place a connection string under one of `keys` (default DATABASE_URL) is written:
 * Deployment env values, ConfigMap data, Secret stringData and base64 data, `.env` files and
 * Kustomize generator literals, each with the containers that use it.
 */
export function findConnectionStrings(
  tree: ManifestTree,
  keys: string[] = ['DATABASE_URL'],
): { sites: ConnectionStringSite[]; unresolved: UnresolvedReference[] } {
  const wanted = new Set(keys);
  const byKey = new Map<string, ConnectionStringSite>();
  const unresolved: UnresolvedReference[] = [];
  const add = (
    key: string,
    value: string,
    where: ConnectionStringSite['where'],
    site: ValueSite,
    object?: K8sObject,
  ) => {
    const id = siteKey(site);
    if (byKey.has(id) || !isConnectionString(value)) return byKey.get(id);
    let params: ConnectionStringSite['params'] = {};
    let duplicateParam: string | undefined;
    try {
      const p = readParams(value, ['pool_max_conns', 'pool_min_conns']);
      params = {
        ...(p.pool_max_conns !== undefined ? { pool_max_conns: Number(p.pool_max_conns) } : {}),
        ...(p.pool_min_conns !== undefined ? { pool_min_conns: Number(p.pool_min_conns) } : {}),
      };
    } catch (error) {
      duplicateParam = (error as { param?: string }).param;
    }
    const s: ConnectionStringSite = {
      key,
      where,
      file: site.file,
      line: site.line,
      ...(object ? { object } : {}),
      masked: maskPasswords(value),
      params,
      ...(duplicateParam ? { duplicateParam } : {}),
      usedBy: [],
      site,
    };
    byKey.set(id, s);
    return s;
  };
  for (const d of [...readConfigMaps(tree), ...readSecrets(tree)]) {
    for (const [key, siteList] of Object.entries(d.sites)) {
      if (!wanted.has(key)) continue;
      for (const site of siteList) {
        if (site.type !== 'yaml') continue;
        const raw = yamlFileOf(tree, site).docs[site.docIndex]!.getIn(site.path);
        const value = site.encoding === 'base64' ? decodeBase64Text(String(raw)) : asString(raw);
        if (value === undefined) continue;
        const where =
          d.object.kind === 'ConfigMap'
            ? 'configmap'
            : site.encoding === 'base64'
              ? 'secret-data'
              : 'secret-stringData';
        add(key, value, where, site, d.object);
      }
    }
  }
  for (const g of tree.generated) {
    for (const k of g.keys) {
      if (!wanted.has(k.key)) continue;
      add(k.key, k.value, k.site.type === 'literal' ? 'kustomize-literal' : 'kustomize-env-file', k.site);
    }
  }
  for (const f of tree.files) {
    if (f.type !== 'env') continue;
    for (const e of f.entries) {
      if (!wanted.has(e.key) || e.value === undefined || e.multiline) continue;
      add(e.key, e.value, 'env-file', { type: 'env-file', file: f.display, key: e.key, line: e.line });
    }
  }
  for (const w of readWorkloads(tree)) {
    for (const c of w.containers) {
      for (const key of wanted) {
        const e = effectiveEnv(c, key);
        if (!e) continue;
        if (!e.resolved) {
          unresolved.push({
            key,
            workload: w.object,
            container: c.name,
            line: e.line,
            reason: e.unresolvedReason ?? 'not resolved',
          });
          continue;
        }
        for (const site of e.sites) {
          const s =
            byKey.get(siteKey(site)) ??
            (e.from === 'value' && e.value !== undefined
              ? add(key, e.value, 'env-value', site, w.object)
              : undefined);
          if (s) s.usedBy.push({ workload: w.object, container: c.name });
        }
      }
    }
  }
  return { sites: [...byKey.values()], unresolved };
}
