/**
 * The objects `up --k8s` applies: the `generate k8s` set rendered in memory for the profile, or a
 * directory/file given with --manifests. A directory with a kustomization.yaml is rendered with the
 * part of Kustomize the generated set uses (resources, namespace, configMapGenerator with its
 * content-hash suffix, images); anything else in a kustomization is refused with a hint to render it
 * with `kubectl kustomize` first, so nothing is silently applied differently from what Kustomize would.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderK8s } from '../generate/k8s.js';
import type { K8sOptions } from '../generate/k8s-values.js';
import { UserError } from '../lib/errors.js';
import type { K8sObject } from './client.js';

/** Reads a file of the set: from disk, or from the in-memory rendering of `generate k8s`. */
type Reader = (rel: string) => string | undefined;

export interface ManifestSet {
  /** Where the objects came from, for messages. */
  source: string;
  objects: K8sObject[];
}

const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'configMapGenerator', 'images']);

function parseObjects(text: string, file: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new UserError(`${file}: ${doc.errors[0]!.message.split('\n')[0]}`, { code: 'MANIFEST_PARSE' });
    }
    const o = doc.toJS() as K8sObject | null;
    if (!o) continue;
    if (
      typeof o.apiVersion !== 'string' ||
      typeof o.kind !== 'string' ||
      typeof o.metadata?.name !== 'string'
    ) {
      throw new UserError(`${file}: an object without apiVersion, kind or metadata.name.`, {
        code: 'MANIFEST_PARSE',
      });
    }
    if (o.kind === 'List' && Array.isArray(o.items)) out.push(...(o.items as K8sObject[]));
    else out.push(o);
  }
  return out;
}

/** kustomize's name suffix: the first 10 hex digits of the SHA-256 of the ConfigMap, made unpronounceable. */
export function configMapHash(name: string, data: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const hex = createHash('sha256')
    .update(JSON.stringify({ data: sorted, kind: 'ConfigMap', name }))
    .digest('hex');
  const map: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => map[c] ?? c).join('');
}

type PodSpec = {
  containers?: Array<{ image?: string; env?: unknown[]; envFrom?: unknown[] }>;
  initContainers?: Array<{ image?: string; env?: unknown[]; envFrom?: unknown[] }>;
  volumes?: Array<{
    configMap?: { name?: string };
    projected?: { sources?: Array<{ configMap?: { name?: string } }> };
  }>;
};

interface WithTemplate {
  template?: { spec?: PodSpec };
  jobTemplate?: { spec?: { template?: { spec?: PodSpec } } };
}

function podSpecs(o: K8sObject): PodSpec[] {
  const spec = o.spec as (PodSpec & WithTemplate) | undefined;
  if (!spec) return [];
  if (o.kind === 'Pod') return [spec];
  if (o.kind === 'CronJob')
    return spec.jobTemplate?.spec?.template?.spec ? [spec.jobTemplate.spec.template.spec] : [];
  return spec.template?.spec ? [spec.template.spec] : [];
}

function renameConfigMapRefs(o: K8sObject, names: Map<string, string>): void {
  const rename = (holder: { name?: string } | undefined) => {
    if (holder?.name && names.has(holder.name)) holder.name = names.get(holder.name);
  };
  for (const ps of podSpecs(o)) {
    for (const v of ps.volumes ?? []) {
      rename(v.configMap);
      for (const s of v.projected?.sources ?? []) rename(s.configMap);
    }
    for (const c of [...(ps.containers ?? []), ...(ps.initContainers ?? [])]) {
      for (const e of (c.envFrom ?? []) as Array<{ configMapRef?: { name?: string } }>)
        rename(e.configMapRef);
      for (const e of (c.env ?? []) as Array<{ valueFrom?: { configMapKeyRef?: { name?: string } } }>) {
        rename(e.valueFrom?.configMapKeyRef);
      }
    }
  }
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

function setImages(o: K8sObject, rules: ImageRule[]): void {
  for (const ps of podSpecs(o)) {
    for (const c of [...(ps.containers ?? []), ...(ps.initContainers ?? [])]) {
      if (!c.image) continue;
      const at = c.image.indexOf('@');
      const noDigest = at >= 0 ? c.image.slice(0, at) : c.image;
      const colon = noDigest.lastIndexOf(':');
      const hasTag = colon > noDigest.lastIndexOf('/');
      const repo = hasTag ? noDigest.slice(0, colon) : noDigest;
      const rule = rules.find((r) => r.name === repo);
      if (!rule) continue;
      const tag = rule.digest
        ? `@${rule.digest}`
        : rule.newTag
          ? `:${rule.newTag}`
          : hasTag
            ? noDigest.slice(colon)
            : '';
      c.image = `${rule.newName ?? repo}${tag}`;
    }
  }
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: Array<{
    name: string;
    namespace?: string;
    files?: string[];
    literals?: string[];
    options?: { disableNameSuffixHash?: boolean };
  }>;
  images?: ImageRule[];
}

/** Renders one kustomization directory (relative paths through `read`). */
function renderKustomization(
  dir: string,
  read: Reader,
  isDir: (rel: string) => boolean,
  shown: string,
): K8sObject[] {
  const kfile = KUSTOMIZATION_NAMES.map((n) => path.posix.join(dir, n)).find((f) => read(f) !== undefined)!;
  const k = (parseAllDocuments(read(kfile)!)[0]?.toJS() ?? {}) as Kustomization;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) {
    throw new UserError(
      `${path.join(shown, kfile)} uses ${unsupported.join(', ')}, which up --k8s does not render.`,
      {
        code: 'KUSTOMIZE_UNSUPPORTED',
        suggestion: `Render it first: kubectl kustomize ${path.join(shown, dir)} > all.yaml, then pass --manifests all.yaml.`,
      },
    );
  }
  const objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const rel = path.posix.normalize(path.posix.join(dir, r));
    if (isDir(rel)) objects.push(...renderKustomization(rel, read, isDir, shown));
    else {
      const text = read(rel);
      if (text === undefined) {
        throw new UserError(`${path.join(shown, kfile)} lists ${r}, which does not exist.`, {
          code: 'MANIFEST_MISSING',
        });
      }
      objects.push(...parseObjects(text, path.join(shown, rel)));
    }
  }
  const renamed = new Map<string, string>();
  const generated: K8sObject[] = [];
  for (const g of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const f of g.files ?? []) {
      const [key, file] = f.includes('=')
        ? (f.split('=', 2) as [string, string])
        : [path.posix.basename(f), f];
      const text = read(path.posix.join(dir, file));
      if (text === undefined) {
        throw new UserError(
          `${path.join(shown, kfile)}: configMapGenerator ${g.name} names ${file}, which does not exist.`,
          {
            code: 'MANIFEST_MISSING',
          },
        );
      }
      data[key] = text;
    }
    for (const l of g.literals ?? []) {
      const eq = l.indexOf('=');
      data[l.slice(0, eq)] = l.slice(eq + 1);
    }
    const hashed = g.options?.disableNameSuffixHash ? g.name : `${g.name}-${configMapHash(g.name, data)}`;
    renamed.set(g.name, hashed);
    generated.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: hashed, ...(g.namespace ? { namespace: g.namespace } : {}) },
      data,
    });
  }
  const all = [...generated, ...objects];
  for (const o of all) {
    if (k.namespace && o.kind !== 'Namespace') o.metadata.namespace = k.namespace;
    renameConfigMapRefs(o, renamed);
    if (k.images) setImages(o, k.images);
  }
  return all;
}

/** The `generate k8s` set for these options, rendered as Kustomize would, without writing files. */
export function generatedSet(o: K8sOptions): ManifestSet {
  const { files } = renderK8s(o);
  const objects = renderKustomization(
    '.',
    (rel) => files.get(path.posix.normalize(rel)),
    () => false,
    '(generate k8s)',
  );
  return { source: `generate k8s --profile ${o.profile}`, objects };
}

/** A file, a directory of YAML files, or a kustomization directory. */
export function loadManifestSet(input: string): ManifestSet {
  const abs = path.resolve(input);
  if (!existsSync(abs)) {
    throw new UserError(`--manifests ${input} does not exist.`, { code: 'MANIFEST_MISSING' });
  }
  if (statSync(abs).isFile())
    return { source: input, objects: parseObjects(readFileSync(abs, 'utf8'), input) };
  const read: Reader = (rel) => {
    const f = path.join(abs, rel);
    return existsSync(f) && statSync(f).isFile() ? readFileSync(f, 'utf8') : undefined;
  };
  const isDir = (rel: string) => {
    const f = path.join(abs, rel);
    return existsSync(f) && statSync(f).isDirectory();
  };
  if (KUSTOMIZATION_NAMES.some((n) => existsSync(path.join(abs, n)))) {
    return { source: input, objects: renderKustomization('.', read, isDir, input) };
  }
  const objects = readdirSync(abs)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => parseObjects(readFileSync(path.join(abs, f), 'utf8'), path.join(input, f)));
  if (objects.length === 0) {
    throw new UserError(`--manifests ${input} holds no YAML objects.`, { code: 'MANIFEST_MISSING' });
  }
  return { source: input, objects };
}
