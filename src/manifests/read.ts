/**
 * Reading a manifest tree generically: Deployments and StatefulSets with their containers,
 * resources and environment (ConfigMap and Secret references followed, base64 decoded), and the
 * site of every value precisely enough to edit it. What is PostgreSQL- or KEDA-specific lives in
 * postgres-sites.ts and scaling.ts.
 */
import { type Document, isMap, isScalar, isSeq, type Node } from 'yaml';
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

export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
export const POD_SPEC = ['spec', 'template', 'spec'] as const;

export function docOf(tree: ManifestTree, obj: K8sObject): { file: YamlFile; doc: Document.Parsed } {
  const file = yamlFileOf(tree, obj);
  return { file, doc: file.docs[obj.docIndex]! };
}

export function lineAt(file: YamlFile, node: unknown): number {
  const r = (node as Node | null | undefined)?.range;
  return r ? file.lineCounter.linePos(r[0]).line : 0;
}

export function js(node: unknown, doc: Document): unknown {
  if (node === undefined || node === null) return undefined;
  return (node as Node).toJS?.(doc, { maxAliasCount: -1 }) ?? node;
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

export function asNumber(v: unknown): number | undefined {
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
