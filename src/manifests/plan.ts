import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createTwoFilesPatch, FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff';
import { isMap, isSeq } from 'yaml';
import { UserError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/fs.js';
import { DuplicateParamError, maskPasswords, setParams } from './conn-string.js';
import { EnvFileEditor } from './env-edit.js';
import { type FileProblem, ManifestRefusal, RefusalSignal, refuse } from './errors.js';
import { POSTGRES_IMAGE } from './images.js';
import { pathsOverlap, semanticLabel, toSemantic } from './kustomize.js';
import { isSecretKey, maskEnvText, maskValue, maskYamlText } from './mask.js';
import { DuplicateSettingError, setConfSetting } from './pg-conf.js';
import { findConnectionStrings, findMaxConnections } from './postgres-sites.js';
import { quantityEquals } from './quantity.js';
import {
  type ContainerInfo,
  decodeBase64Text,
  effectiveEnv,
  POD_SPEC,
  readWorkloads,
  type ValueSite,
  type Workload,
} from './read.js';
import { readScaledObjects } from './scaling.js';
import {
  type K8sObject,
  type ManifestTree,
  matchesSelector,
  type ObjectSelector,
  objectLabel,
  yamlFileOf,
} from './tree.js';
import { type PatchValue, type PathSeg, type ScalarCompare, YamlFileEditor } from './yaml-edit.js';

/** CPU/memory requests and limits to set; values are Kubernetes quantities (`500m`, `1Gi`, 2). */
export interface ResourcesPatch {
  requests?: { cpu?: string | number; memory?: string };
  limits?: { cpu?: string | number; memory?: string };
}

export interface HpaRulesPatch {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  /** The whole policy list: same length → changed item by item, else replaced. */
  policies?: Array<{ type: 'Pods' | 'Percent'; value: number; periodSeconds: number }>;
}

export interface ScaledObjectPatch {
  pollingInterval?: number;
  cooldownPeriod?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  idleReplicaCount?: number;
  /** Trigger metadata to set; the trigger is picked by name, else by type (must be unique), else index. */
  triggers?: Array<{
    name?: string;
    type?: string;
    index?: number;
    metadata: Record<string, string | number>;
  }>;
  /** spec.advanced.horizontalPodAutoscalerConfig.behavior */
  behavior?: { scaleUp?: HpaRulesPatch; scaleDown?: HpaRulesPatch };
}

interface EditBase {
  /** Why: shown next to the change (e.g. the tuner's formula with its inputs). */
  reason?: string;
}

/** One change to make to the tree. Every edit is minimal and a no-op when the value is already right. */
export type ManifestEdit = EditBase &
  (
    | {
        /** Set a container env var: its inline value, or the ConfigMap/Secret key it references; appended if absent. */
        op: 'set-env';
        workload: ObjectSelector;
        /** Needed when the pod has several containers. */
        container?: string;
        name: string;
        value: string;
      }
    | { op: 'set-resources'; workload: ObjectSelector; container?: string; resources: ResourcesPatch }
    | { op: 'set-replicas'; workload: ObjectSelector; replicas: number }
    | { op: 'set-configmap-key'; configMap: ObjectSelector; key: string; value: string }
    | {
        /** PostgreSQL max_connections wherever it is set (postgresql.conf key, `-c` args, operator parameters). */
        op: 'set-max-connections';
        value: number;
        /** Limit to one object (the ConfigMap, StatefulSet or Cluster). */
        target?: ObjectSelector;
      }
    | { op: 'patch-scaled-object'; scaledObject?: ObjectSelector; patch: ScaledObjectPatch }
    | {
        /** pool_max_conns / pool_min_conns inside every DATABASE_URL (env value, ConfigMap, Secret, .env, Kustomize literal). */
        op: 'set-pool-params';
        params: { pool_max_conns?: number; pool_min_conns?: number };
        /** Variable names holding the connection string. Default ['DATABASE_URL']. */
        keys?: string[];
        /** Only the connection strings this workload reads (e.g. the API, not the worker). */
        workload?: ObjectSelector;
        /** Include `.env` files (default true). */
        envFiles?: boolean;
      }
    | {
        op: 'set-env-file-var';
        name: string;
        value: string /** Display path; default every env file. */;
        file?: string;
      }
    | { op: 'set-field'; object: ObjectSelector; path: PathSeg[]; value: PatchValue }
  );

/** One changed value, safe to print (secrets masked). */
export interface PlannedChange {
  file: string;
  line: number;
  /** `Kind/name` of the object, when the value is in one. */
  object?: string;
  field: string;
  from?: string;
  to: string;
  reason?: string;
}

/** One file to rewrite. `before` and `after` hold real bytes (secrets included) and are not enumerable. */
export interface PlannedFile {
  path: string;
  display: string;
  mode: number;
  /** Unified diff with secrets masked: safe to print. */
  diff: string;
  readonly before: string;
  readonly after: string;
}

export interface ManifestPlan {
  base: string;
  /** Only files whose bytes change. */
  files: PlannedFile[];
  changes: PlannedChange[];
  /** Things the user should know: references the library could not follow, values KEDA overrides… */
  warnings: string[];
  /** Edits refused (only filled with `collectRefusals`; otherwise planEdits throws). */
  refusals: FileProblem[];
}

export interface PlanOptions {
  /** Return refused edits in `plan.refusals` and plan the rest, instead of throwing ManifestRefusal. */
  collectRefusals?: boolean;
  /** Lines of context in the diffs (default 3). */
  context?: number;
}

type Json = PatchValue;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaf differences between the current value and a patch (maps merged, same-length lists by item). */
function leafChanges(
  current: unknown,
  patch: Json,
  prefix: PathSeg[],
  eq: (a: unknown, b: unknown) => boolean,
): Array<{ path: PathSeg[]; from: unknown; to: Json }> {
  if (isObj(patch)) {
    return Object.entries(patch).flatMap(([k, v]) =>
      leafChanges(isObj(current) ? current[k] : undefined, v as Json, [...prefix, k], eq),
    );
  }
  if (Array.isArray(patch)) {
    if (Array.isArray(current) && current.length === patch.length && patch.length > 0) {
      return patch.flatMap((v, i) => leafChanges(current[i], v, [...prefix, i], eq));
    }
    return isDeepStrictEqual(current, patch) ? [] : [{ path: prefix, from: current, to: patch }];
  }
  return eq(current, patch) ? [] : [{ path: prefix, from: current, to: patch }];
}

function show(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A field as people read it: `containers[api].env[DATABASE_URL].value`, not `…containers[0].env[1]…`. */
function fieldLabel(tree: ManifestTree, obj: K8sObject, p: PathSeg[]): string {
  const doc = yamlFileOf(tree, obj).docs[obj.docIndex]!;
  return semanticLabel(toSemantic(doc, p)).replace(/^spec\.template\.spec\./, '');
}

const looseEquals = (a: unknown, b: unknown) =>
  a === b || (a !== undefined && a !== null && b !== undefined && b !== null && String(a) === String(b));

class Planner {
  readonly changes: PlannedChange[] = [];
  readonly warnings: string[] = [];
  private readonly yamlEditors = new Map<string, YamlFileEditor>();
  private readonly envEditors = new Map<string, EnvFileEditor>();
  private workloadCache?: Workload[];
  constructor(readonly tree: ManifestTree) {}

  get workloads(): Workload[] {
    this.workloadCache ??= readWorkloads(this.tree);
    return this.workloadCache;
  }

  yaml(display: string): YamlFileEditor {
    let e = this.yamlEditors.get(display);
    if (!e) {
      e = new YamlFileEditor(yamlFileOf(this.tree, { file: display }));
      this.yamlEditors.set(display, e);
    }
    return e;
  }

  env(display: string): EnvFileEditor {
    let e = this.envEditors.get(display);
    if (!e) {
      const f = this.tree.files.find((x) => x.display === display);
      if (f?.type !== 'env') throw new Error(`internal: ${display} is not an env file`);
      e = new EnvFileEditor(f);
      this.envEditors.set(display, e);
    }
    return e;
  }

  editors(): Array<YamlFileEditor | EnvFileEditor> {
    return [...this.yamlEditors.values(), ...this.envEditors.values()];
  }

  /** Refuses when the tree has no such object, or more than one. */
  select(selector: ObjectSelector, kinds: string[]): K8sObject {
    const found = this.tree.objects.filter((o) => kinds.includes(o.kind) && matchesSelector(o, selector));
    const label = objectLabel({ ...selector, kind: selector.kind ?? kinds.join('|') });
    if (found.length === 0) refuse('.', 0, `${label} is not in the manifest tree`);
    if (found.length > 1) {
      refuse(
        found[1]!.file,
        found[1]!.line,
        `${label} is defined ${found.length} times (${found.map((o) => `${o.file}:${o.line}`).join(', ')}); give its namespace`,
      );
    }
    return found[0]!;
  }

  /**
   * Refuses an edit of a field that a Kustomize patch, replicas override or generator merge sets:
   * the edited value would never reach the cluster.
   */
  guard(obj: K8sObject, semantic: string[]): void {
    const abs = path.resolve(this.tree.base, obj.file);
    const doc = yamlFileOf(this.tree, obj).docs[obj.docIndex]!;
    for (const eff of this.tree.effects) {
      const t = eff.target;
      if (t.kind !== undefined && t.kind !== obj.kind) continue;
      if (t.name !== undefined && t.name !== obj.name) continue;
      if (t.namespace !== undefined && obj.namespace !== undefined && t.namespace !== obj.namespace) continue;
      if (!eff.scope.some((d) => abs === d || abs.startsWith(d + path.sep))) continue;
      const field = semanticLabel(semantic);
      if (eff.paths === 'unknown') {
        refuse(
          eff.kustomization,
          eff.entryLine,
          `${objectLabel(obj)} ${field} may be changed by the ${eff.what} declared here, which the library cannot read (outside the manifest tree or not YAML); edit the value by hand`,
        );
      }
      for (const p of eff.paths) {
        const ps = p.pointer ? toSemantic(doc, p.segments) : p.segments;
        if (pathsOverlap(semantic, ps)) {
          refuse(
            eff.source?.file ?? eff.kustomization,
            p.line,
            `${objectLabel(obj)} ${field} is set by this ${eff.what} (applied by ${eff.kustomization}:${eff.entryLine}); a change in ${obj.file} would be overridden, so change it here`,
          );
        }
      }
    }
  }

  guardPath(obj: K8sObject, indexPath: PathSeg[], extra: string[] = []): void {
    const doc = yamlFileOf(this.tree, obj).docs[obj.docIndex]!;
    this.guard(obj, [...toSemantic(doc, indexPath), ...extra]);
  }

  record(c: PlannedChange): void {
    this.changes.push(c);
  }

  /** Current value at a site (after edits queued so far), decoded for base64. */
  readSite(site: ValueSite): string | undefined {
    if (site.type === 'env-file') return this.env(site.file).get(site.key);
    const raw = this.yaml(site.file).get(site.docIndex, site.path);
    if (site.type === 'literal') {
      const s = String(raw);
      return s.slice(s.indexOf('=') + 1);
    }
    if (site.encoding === 'base64') return decodeBase64Text(String(raw));
    return raw === undefined || raw === null ? undefined : String(raw);
  }

  /** Replaces the value at a site by fn(old): env line, YAML scalar, base64 data, or `KEY=VALUE` literal. */
  transformSite(site: ValueSite, fn: (old: string) => string): { from?: string; to: string } | undefined {
    if (site.type === 'yaml') this.guardPath(site.object, site.path);
    const old = this.readSite(site);
    if (old === undefined) {
      if (site.type === 'yaml' && site.encoding === 'base64') {
        refuse(
          site.file,
          site.line,
          `${site.path.join('.')} is not base64-encoded UTF-8 text; edit it by hand`,
        );
      }
    }
    const next = fn(old ?? '');
    if (old === next) return undefined;
    if (site.type === 'env-file') this.env(site.file).set(site.key, next);
    else if (site.type === 'literal') {
      this.yaml(site.file).transformString(
        site.docIndex,
        site.path,
        (s) => `${s.slice(0, s.indexOf('='))}=${fn(s.slice(s.indexOf('=') + 1))}`,
      );
    } else if (site.encoding === 'base64') {
      this.yaml(site.file).transformString(site.docIndex, site.path, () =>
        Buffer.from(next, 'utf8').toString('base64'),
      );
    } else {
      const ed = this.yaml(site.file);
      if (typeof ed.get(site.docIndex, site.path) === 'string')
        ed.transformString(site.docIndex, site.path, fn);
      else ed.patch(site.docIndex, site.path, next, { equals: looseEquals });
    }
    return { ...(old !== undefined ? { from: old } : {}), to: next };
  }

  /** Patches an object's field; records one change per leaf that differs. */
  patchObject(
    obj: K8sObject,
    base: PathSeg[],
    value: Json,
    reason: string | undefined,
    cmp: ScalarCompare = {},
  ): void {
    const ed = this.yaml(obj.file);
    const current = yamlFileOf(this.tree, obj).docs[obj.docIndex]!.getIn(base, true);
    const currentJs =
      current === undefined
        ? undefined
        : isMap(current) || isSeq(current)
          ? current.toJS(yamlFileOf(this.tree, obj).docs[obj.docIndex]!, { maxAliasCount: -1 })
          : (current as { value?: unknown } | null)?.value;
    const eq = cmp.equals ?? ((a: unknown, b: unknown) => a === b);
    const diffs = leafChanges(currentJs, value, [], eq);
    if (diffs.length === 0) return;
    for (const d of diffs) this.guardPath(obj, [...base, ...d.path]);
    ed.patch(obj.docIndex, base, value, cmp);
    const doc = yamlFileOf(this.tree, obj).docs[obj.docIndex]!;
    for (const d of diffs) {
      const full = [...base, ...d.path];
      // Line of the deepest existing node on the path (the new key goes right below it).
      let line = obj.line;
      for (let i = full.length; i > 0; i--) {
        const n = doc.getIn(full.slice(0, i), true) as { range?: [number, number, number] } | undefined;
        if (n?.range) {
          line = ed.line(n.range[0]);
          break;
        }
      }
      // Secret values and secret-looking keys are never shown, even in the change list.
      const secret = obj.kind === 'Secret' || full.some((seg) => typeof seg === 'string' && isSecretKey(seg));
      const from = show(d.from);
      this.record({
        file: obj.file,
        line,
        object: objectLabel(obj),
        field: fieldLabel(this.tree, obj, full),
        ...(from !== undefined ? { from: maskValue(from, secret) } : {}),
        to: maskValue(show(d.to) ?? '', secret),
        ...(reason ? { reason } : {}),
      });
    }
  }

  workloadOf(obj: K8sObject): Workload {
    const w = this.workloads.find((x) => x.object === obj);
    if (!w) throw new Error(`internal: no workload for ${objectLabel(obj)}`);
    return w;
  }

  container(w: Workload, name: string | undefined): ContainerInfo {
    const main = w.containers.filter((c) => !c.init);
    if (name === undefined) {
      if (main.length === 1) return main[0]!;
      refuse(
        w.object.file,
        w.object.line,
        `${objectLabel(w.object)} has ${main.length} containers (${main.map((c) => c.name).join(', ')}); say which one`,
      );
    }
    const c = main.find((x) => x.name === name) ?? w.containers.find((x) => x.name === name);
    if (!c) {
      refuse(
        w.object.file,
        w.object.line,
        `${objectLabel(w.object)} has no container ${name} (it has ${w.containers.map((x) => x.name).join(', ')})`,
      );
    }
    return c;
  }

  siteLabel(site: ValueSite): { object?: string; field: string } {
    if (site.type === 'env-file') return { field: site.key };
    if (site.type === 'literal')
      return {
        field: site.path
          .map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`))
          .join('')
          .slice(1),
      };
    return { object: objectLabel(site.object), field: fieldLabel(this.tree, site.object, site.path) };
  }

  isSecretSite(site: ValueSite, key: string): boolean {
    if (site.type === 'yaml' && site.object.kind === 'Secret') return true;
    if (site.type === 'literal' && site.path[0] === 'secretGenerator') return true;
    return isSecretKey(key);
  }
}

type Handler<K extends ManifestEdit['op']> = (p: Planner, e: Extract<ManifestEdit, { op: K }>) => void;

const setEnv: Handler<'set-env'> = (p, e) => {
  const obj = p.select(e.workload, ['Deployment', 'StatefulSet']);
  const w = p.workloadOf(obj);
  const c = p.container(w, e.container);
  const listPath = [...POD_SPEC, c.init ? 'initContainers' : 'containers', c.index, 'env'];
  const explicit = c.env.filter((x) => x.name === e.name);
  if (explicit.length > 1) {
    refuse(
      obj.file,
      explicit[1]!.line,
      `env ${e.name} is given ${explicit.length} times in container ${c.name} (lines ${explicit.map((x) => x.line).join(', ')}); Kubernetes keeps the last, so remove the duplicate first`,
    );
  }
  const v = explicit[0] ?? effectiveEnv(c, e.name);
  if (v && v.from !== 'value') {
    if (v.from === 'fieldRef' || v.from === 'resourceFieldRef' || v.from === 'none' || !v.resolved) {
      if (v.from === 'envFrom' && !v.resolved) {
        p.warnings.push(
          `${objectLabel(obj)} container ${c.name}: ${e.name} may also come from envFrom (${v.unresolvedReason}); the explicit env entry added takes precedence`,
        );
      } else {
        refuse(
          obj.file,
          v.line,
          v.ref
            ? `env ${e.name} of container ${c.name} comes from ${v.ref.kind} ${v.ref.name} key ${v.ref.key}, but ${v.unresolvedReason ?? 'it cannot be read'}; change it where it is defined`
            : `env ${e.name} of container ${c.name} is filled in by Kubernetes at run time (${v.from}); there is no value to change`,
        );
      }
    } else {
      for (const site of v.sites) {
        const r = p.transformSite(site, () => e.value);
        if (r) {
          const secret = p.isSecretSite(site, e.name);
          p.record({
            file: site.file,
            line: site.line,
            ...p.siteLabel(site),
            ...(r.from !== undefined ? { from: maskValue(r.from, secret) } : {}),
            to: maskValue(r.to, secret),
            ...(e.reason ? { reason: e.reason } : {}),
          });
        }
      }
      return;
    }
  }
  const ed = p.yaml(obj.file);
  if (v && v.from === 'value') {
    const idx = c.env.indexOf(v);
    const site = v.sites[0]!;
    const current = v.value;
    if (current === e.value) return;
    p.guardPath(obj, listPath, [`[name=${e.name}]`, 'value']);
    ed.patch(obj.docIndex, [...listPath, idx, 'value'], e.value, { equals: looseEquals });
    const secret = isSecretKey(e.name);
    p.record({
      file: obj.file,
      line: site.line,
      object: objectLabel(obj),
      field: `containers[${c.name}].env[${e.name}]`,
      ...(current !== undefined ? { from: maskValue(current, secret) } : {}),
      to: maskValue(e.value, secret),
      ...(e.reason ? { reason: e.reason } : {}),
    });
    return;
  }
  p.guardPath(obj, listPath, [`[name=${e.name}]`]);
  ed.append(obj.docIndex, listPath, { name: e.name, value: e.value });
  p.record({
    file: obj.file,
    line: c.line,
    object: objectLabel(obj),
    field: `containers[${c.name}].env[${e.name}]`,
    to: maskValue(e.value, isSecretKey(e.name)),
    ...(e.reason ? { reason: e.reason } : {}),
  });
};

const setResources: Handler<'set-resources'> = (p, e) => {
  const obj = p.select(e.workload, ['Deployment', 'StatefulSet']);
  const c = p.container(p.workloadOf(obj), e.container);
  const base = [...POD_SPEC, c.init ? 'initContainers' : 'containers', c.index, 'resources'];
  p.patchObject(obj, base, e.resources as Json, e.reason, { equals: quantityEquals });
};

const setReplicas: Handler<'set-replicas'> = (p, e) => {
  const obj = p.select(e.workload, ['Deployment', 'StatefulSet']);
  const scaler = readScaledObjects(p.tree).find((s) => s.scaleTargetRef?.name === obj.name);
  if (scaler) {
    p.warnings.push(
      `${objectLabel(obj)} is scaled by ScaledObject ${scaler.object.name} (${scaler.object.file}); KEDA overrides spec.replicas`,
    );
  }
  p.patchObject(obj, ['spec', 'replicas'], e.replicas, e.reason, { equals: looseEquals });
};

const setConfigMapKey: Handler<'set-configmap-key'> = (p, e) => {
  const found = p.tree.objects.filter((o) => o.kind === 'ConfigMap' && matchesSelector(o, e.configMap));
  if (found.length === 0) {
    const gen = p.tree.generated.find((g) => g.kind === 'ConfigMap' && g.name === e.configMap.name);
    const key = gen?.keys.find((k) => k.key === e.key);
    if (gen && key) {
      const r = p.transformSite({ ...key.site } as ValueSite, () => e.value);
      if (r) {
        p.record({
          file: key.site.file,
          line: key.site.line,
          field: `${e.configMap.name}.${e.key}`,
          ...(r.from !== undefined ? { from: maskValue(r.from, isSecretKey(e.key)) } : {}),
          to: maskValue(r.to, isSecretKey(e.key)),
          ...(e.reason ? { reason: e.reason } : {}),
        });
      }
      return;
    }
    if (gen) {
      refuse(
        gen.kustomization,
        gen.line,
        `ConfigMap ${gen.name} is generated here and has no literal or env-file key ${e.key}; add it by hand`,
      );
    }
  }
  const obj = p.select({ ...e.configMap, kind: 'ConfigMap' }, ['ConfigMap']);
  p.patchObject(obj, ['data', e.key], e.value, e.reason, { equals: looseEquals });
};

const setMaxConnections: Handler<'set-max-connections'> = (p, e) => {
  const v = Math.round(e.value);
  let sites = findMaxConnections(p.tree);
  if (e.target) sites = sites.filter((s) => matchesSelector(s.object, e.target!));
  const rec = (line: number, object: K8sObject, field: string, from: number | undefined) => {
    p.record({
      file: object.file,
      line,
      object: objectLabel(object),
      field,
      ...(from !== undefined ? { from: String(from) } : {}),
      to: String(v),
      ...(e.reason ? { reason: e.reason } : {}),
    });
  };
  if (sites.length > 0) {
    // Two settings in the same arg list: PostgreSQL keeps one, the library won't guess which was meant.
    const perItem = new Map<string, number>();
    for (const s of sites) {
      const k = `${s.file}#${(s.site as { path: PathSeg[] }).path.join('.')}`;
      perItem.set(k, (perItem.get(k) ?? 0) + 1);
      if (s.where !== 'postgresql.conf' && (perItem.get(k) ?? 0) > 1) {
        refuse(
          s.file,
          s.line,
          `max_connections is given twice in the same ${s.where} entry; remove the duplicate first`,
        );
      }
    }
    for (const s of sites) {
      if (s.value === v) continue;
      if (s.where === 'postgresql.conf') {
        try {
          p.transformSite(s.site, (text) => setConfSetting(text, 'max_connections', v));
        } catch (error) {
          if (error instanceof DuplicateSettingError) {
            refuse(
              s.file,
              s.line,
              `max_connections is set ${error.lines.length} times in ${s.key}; remove the duplicate first`,
            );
          }
          throw error;
        }
        rec(s.line, s.object, `data.${s.key} max_connections`, s.value);
      } else if (s.where === 'operator-parameters') {
        p.guardPath(s.object, (s.site as { path: PathSeg[] }).path);
        p.transformSite(s.site, () => String(v));
        rec(s.line, s.object, 'spec.postgresql.parameters.max_connections', s.value);
      } else {
        const item = s.item!;
        p.transformSite(s.site, (str) => str.slice(0, item.start) + String(v) + str.slice(item.end));
        rec(s.line, s.object, `containers[${s.container}].${s.where} max_connections`, s.value);
      }
    }
    return;
  }
  // Not set anywhere: add it to a postgresql.conf key if there is one, else to the server's args.
  for (const obj of p.tree.objects) {
    if (obj.kind !== 'ConfigMap' || (e.target && !matchesSelector(obj, e.target))) continue;
    const data = yamlFileOf(p.tree, obj).docs[obj.docIndex]!.get('data', true);
    if (!isMap(data)) continue;
    const key = data.items
      .map((x) => String((x.key as { value?: unknown }).value))
      .find((k) => k === 'postgresql.conf');
    if (!key) continue;
    const site: ValueSite = {
      type: 'yaml',
      file: obj.file,
      docIndex: obj.docIndex,
      path: ['data', key],
      line: obj.line,
      encoding: 'plain',
      object: obj,
    };
    p.transformSite(site, (text) => setConfSetting(text, 'max_connections', v));
    rec(obj.line, obj, `data.${key} max_connections`, undefined);
    return;
  }
  const pg = p.workloads
    .filter((w) => !e.target || matchesSelector(w.object, e.target))
    .flatMap((w) =>
      w.containers.filter((c) => !c.init && c.image && POSTGRES_IMAGE.test(c.image)).map((c) => ({ w, c })),
    );
  if (pg.length !== 1) {
    refuse(
      pg[1]?.w.object.file ?? '.',
      pg[1]?.c.line ?? 0,
      pg.length === 0
        ? 'max_connections is not set anywhere and no PostgreSQL container or postgresql.conf ConfigMap key was found; pass the target'
        : `max_connections is not set anywhere and ${pg.length} PostgreSQL containers were found; pass the target`,
    );
  }
  const { w, c } = pg[0]!;
  if (c.command.length > 0 && c.args.length === 0) {
    refuse(
      w.object.file,
      c.line,
      `container ${c.name} sets command without args; add -c max_connections=${v} to its command by hand`,
    );
  }
  const argsPath = [...POD_SPEC, 'containers', c.index, 'args'];
  p.guardPath(w.object, argsPath);
  const ed = p.yaml(w.object.file);
  // The official image's entrypoint runs `postgres "$@"` when the first argument starts with "-".
  if (c.args.length > 0) {
    ed.append(w.object.docIndex, argsPath, '-c');
    ed.append(w.object.docIndex, argsPath, `max_connections=${v}`);
  } else ed.patch(w.object.docIndex, argsPath, ['-c', `max_connections=${v}`]);
  rec(c.line, w.object, `containers[${c.name}].args max_connections`, undefined);
};

const patchScaledObject: Handler<'patch-scaled-object'> = (p, e) => {
  const all = p.tree.objects.filter((o) => o.kind === 'ScaledObject');
  const obj = e.scaledObject
    ? p.select({ ...e.scaledObject, kind: 'ScaledObject' }, ['ScaledObject'])
    : all.length === 1
      ? all[0]!
      : refuse(
          '.',
          0,
          all.length === 0
            ? 'no ScaledObject in the manifest tree'
            : `${all.length} ScaledObjects in the tree (${all.map((o) => o.name).join(', ')}); say which one`,
        );
  const { triggers, behavior, ...top } = e.patch;
  const spec: Record<string, Json> = {};
  for (const [k, v] of Object.entries(top)) if (v !== undefined) spec[k] = v;
  if (behavior) {
    const b: Record<string, Json> = {};
    for (const dir of ['scaleUp', 'scaleDown'] as const) {
      const r = behavior[dir];
      if (!r) continue;
      const rr: Record<string, Json> = {};
      for (const [k, v] of Object.entries(r)) if (v !== undefined) rr[k] = v as Json;
      b[dir] = rr;
    }
    spec.advanced = { horizontalPodAutoscalerConfig: { behavior: b } };
  }
  if (Object.keys(spec).length > 0) p.patchObject(obj, ['spec'], spec, e.reason, { equals: looseEquals });
  if (triggers) {
    const info = readScaledObjects(p.tree).find((s) => s.object === obj)!;
    for (const t of triggers) {
      let idx = t.index;
      if (idx === undefined && t.name !== undefined) idx = info.triggers.findIndex((x) => x.name === t.name);
      if (idx === undefined && t.type !== undefined) {
        const same = info.triggers.map((x, i) => (x.type === t.type ? i : -1)).filter((i) => i !== -1);
        if (same.length > 1)
          refuse(
            obj.file,
            info.triggers[same[1]!]!.line,
            `${same.length} ${t.type} triggers; name the one to change`,
          );
        idx = same[0];
      }
      if (idx === undefined || idx < 0 || idx >= info.triggers.length) {
        refuse(obj.file, obj.line, `ScaledObject ${obj.name} has no trigger ${t.name ?? t.type ?? t.index}`);
      }
      // KEDA trigger metadata values are strings.
      const meta = Object.fromEntries(Object.entries(t.metadata).map(([k, v]) => [k, String(v)]));
      p.patchObject(obj, ['spec', 'triggers', idx, 'metadata'], meta, e.reason, { equals: looseEquals });
    }
  }
};

const setPoolParams: Handler<'set-pool-params'> = (p, e) => {
  const keys = e.keys ?? ['DATABASE_URL'];
  const { sites, unresolved } = findConnectionStrings(p.tree, keys);
  const wl = e.workload ? p.select(e.workload, ['Deployment', 'StatefulSet']) : undefined;
  const chosen = sites.filter((s) =>
    s.site.type === 'env-file' || s.where === 'kustomize-env-file'
      ? e.envFiles !== false && (!wl || s.usedBy.length === 0 || s.usedBy.some((u) => u.workload === wl))
      : !wl || s.usedBy.some((u) => u.workload === wl),
  );
  for (const u of unresolved) {
    if (wl && u.workload !== wl) continue;
    p.warnings.push(
      `${objectLabel(u.workload)} container ${u.container} reads ${u.key} from outside the tree (${u.reason}); set ${Object.keys(e.params).join(' and ')} there by hand (${u.workload.file}:${u.line})`,
    );
  }
  if (wl) {
    for (const c of p.workloadOf(wl).containers) {
      for (const key of keys) {
        const dup = c.env.filter((x) => x.name === key);
        if (dup.length > 1)
          refuse(
            wl.file,
            dup[1]!.line,
            `env ${key} is given ${dup.length} times in container ${c.name}; remove the duplicate first`,
          );
      }
    }
  }
  if (chosen.length === 0) {
    if (unresolved.length > 0) return;
    refuse(
      '.',
      0,
      `no ${keys.join(' or ')} connection string found${wl ? ` for ${objectLabel(wl)}` : ''} in the manifest tree`,
    );
  }
  const params = Object.fromEntries(Object.entries(e.params).filter(([, v]) => v !== undefined)) as Record<
    string,
    number
  >;
  for (const s of chosen) {
    if (s.duplicateParam)
      refuse(
        s.file,
        s.line,
        `${s.key} sets ${s.duplicateParam} more than once; the driver's choice is not obvious, fix it by hand`,
      );
    let r: { from?: string; to: string } | undefined;
    try {
      r = p.transformSite(s.site, (url) => setParams(url, params));
    } catch (error) {
      if (error instanceof DuplicateParamError)
        refuse(s.file, s.line, `${s.key} sets ${error.param} more than once; fix it by hand`);
      throw error;
    }
    if (!r) continue;
    const label = p.siteLabel(s.site);
    for (const [k, v] of Object.entries(params)) {
      const before = s.params[k as keyof typeof s.params];
      if (before === v) continue;
      p.record({
        file: s.file,
        line: s.line,
        ...label,
        field: `${s.key} ${k}${label.field === s.key ? '' : ` (${label.field})`}`,
        ...(before !== undefined ? { from: String(before) } : {}),
        to: String(v),
        ...(e.reason ? { reason: e.reason } : {}),
      });
    }
  }
};

const setEnvFileVar: Handler<'set-env-file-var'> = (p, e) => {
  const files = p.tree.files.filter(
    (f) => f.type === 'env' && (e.file === undefined || f.display === e.file),
  );
  if (files.length === 0)
    refuse(e.file ?? '.', 0, e.file ? `${e.file} is not a loaded env file` : 'no env file in the tree');
  for (const f of files) {
    const ed = p.env(f.display);
    const old = ed.get(e.name);
    if (old === e.value) continue;
    ed.set(e.name, e.value);
    const secret = isSecretKey(e.name);
    const entry = f.type === 'env' ? f.entries.find((x) => x.key === e.name) : undefined;
    p.record({
      file: f.display,
      line: entry?.line ?? 0,
      field: e.name,
      ...(old !== undefined ? { from: maskValue(old, secret) } : {}),
      to: maskValue(e.value, secret),
      ...(e.reason ? { reason: e.reason } : {}),
    });
  }
};

const setField: Handler<'set-field'> = (p, e) => {
  const obj = p.select(
    e.object,
    e.object.kind ? [e.object.kind] : [...new Set(p.tree.objects.map((o) => o.kind))],
  );
  p.patchObject(obj, e.path, e.value, e.reason);
};

const handlers: { [K in ManifestEdit['op']]: Handler<K> } = {
  'set-env': setEnv,
  'set-resources': setResources,
  'set-replicas': setReplicas,
  'set-configmap-key': setConfigMapKey,
  'set-max-connections': setMaxConnections,
  'patch-scaled-object': patchScaledObject,
  'set-pool-params': setPoolParams,
  'set-env-file-var': setEnvFileVar,
  'set-field': setField,
};

function secretEnvFiles(tree: ManifestTree): Set<string> {
  const out = new Set<string>();
  for (const g of tree.generated) {
    if (g.kind !== 'Secret') continue;
    for (const k of g.keys) if (k.site.type === 'env-file') out.add(k.site.file);
  }
  return out;
}

/**
 * Unified diff of one file with secrets masked. The hunks come from the real bytes (so a changed
 * secret still shows as a changed line) and every shown line is taken from the masked text at
 * the same line number (masking keeps line counts), so no secret and no URL password is printed.
 */
function maskedDiff(
  display: string,
  before: string,
  after: string,
  mask: (text: string, which: 'before' | 'after') => string,
  context: number,
): string {
  const mb = mask(before, 'before').split('\n');
  const ma = mask(after, 'after').split('\n');
  const opts = { context, headerOptions: FILE_HEADERS_ONLY };
  if (mb.length !== before.split('\n').length || ma.length !== after.split('\n').length) {
    // Should not happen; if it does, diff the masked texts: safe, only less precise.
    return createTwoFilesPatch(
      `a/${display}`,
      `b/${display}`,
      mb.join('\n'),
      ma.join('\n'),
      undefined,
      undefined,
      opts,
    );
  }
  const patch = structuredPatch(`a/${display}`, `b/${display}`, before, after, undefined, undefined, {
    context,
  });
  for (const hunk of patch.hunks) {
    let o = hunk.oldStart - 1;
    let n = hunk.newStart - 1;
    hunk.lines = hunk.lines.map((l) => {
      if (l.startsWith(' ')) {
        n++;
        return ` ${mb[o++]}`;
      }
      if (l.startsWith('-')) return `-${mb[o++]}`;
      if (l.startsWith('+')) return `+${ma[n++]}`;
      return l;
    });
  }
  return formatPatch(patch, FILE_HEADERS_ONLY);
}

/**
 * Plans edits over a loaded tree without touching the disk: every file that would change, with
 * its old and new bytes and a masked unified diff, plus a masked list of changed values.
 * Idempotent: a second plan after applying this one has no files. Edits that cannot be made
 * safely are refused (ManifestRefusal, exit 2) with file and line, before anything is written.
 *
 * @example
 *   const tree = loadManifestTree('k8s/');
 *   const plan = planEdits(tree, [
 *     { op: 'set-pool-params', params: { pool_max_conns: 20, pool_min_conns: 5 }, workload: { name: 'api' } },
 *     { op: 'set-max-connections', value: 170, reason: '3 × 20 + 50 × 2 + 10' },
 *   ]);
 *   process.stdout.write(formatPlanDiff(plan));
 *   if (!dryRun) applyPlan(plan);
 */
export function planEdits(
  tree: ManifestTree,
  edits: ManifestEdit[],
  options: PlanOptions = {},
): ManifestPlan {
  const p = new Planner(tree);
  const refusals: FileProblem[] = [];
  for (const edit of edits) {
    try {
      (handlers[edit.op] as Handler<typeof edit.op>)(p, edit as never);
    } catch (error) {
      if (error instanceof RefusalSignal) refusals.push(error.problem);
      else throw error;
    }
  }
  const files: PlannedFile[] = [];
  const secretFiles = secretEnvFiles(tree);
  for (const ed of p.editors()) {
    if (!ed.changed) continue;
    let after: string;
    try {
      after = ed.build();
    } catch (error) {
      if (error instanceof RefusalSignal) {
        refusals.push(error.problem);
        continue;
      }
      throw error;
    }
    const f = ed.file;
    if (after === f.source) continue;
    const planned = {
      path: f.path,
      display: f.display,
      mode: f.mode,
      diff: maskedDiff(
        f.display,
        f.source,
        after,
        (text, which) =>
          f.type === 'env'
            ? maskEnvText(text, secretFiles.has(f.display))
            : maskYamlText(text, which === 'before' ? f.docs : (ed as YamlFileEditor).afterDocs),
        options.context ?? 3,
      ),
    } as PlannedFile;
    // Real bytes stay off JSON.stringify / console.log, so a `--json` plan cannot leak a secret.
    Object.defineProperty(planned, 'before', { value: f.source, enumerable: false });
    Object.defineProperty(planned, 'after', { value: after, enumerable: false });
    files.push(planned);
  }
  if (refusals.length > 0 && !options.collectRefusals) throw new ManifestRefusal(refusals);
  files.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
  const changes = p.changes.map((c) => ({
    ...c,
    ...(c.from !== undefined ? { from: maskPasswords(c.from) } : {}),
    to: maskPasswords(c.to),
  }));
  return { base: tree.base, files, changes, warnings: p.warnings, refusals };
}

/** All file diffs of a plan, in file order (empty string when nothing changes). */
export function formatPlanDiff(plan: ManifestPlan): string {
  return plan.files.map((f) => f.diff).join('');
}

/**
 * Writes a plan: first checks that no planned file changed on disk since it was read (else
 * nothing is written), then replaces each file atomically (temp file + rename in the same
 * directory) keeping its mode; a symlinked file is written at its target. Returns the paths written.
 */
export function applyPlan(plan: ManifestPlan): string[] {
  for (const f of plan.files) {
    let now: string;
    try {
      now = readFileSync(f.path, 'utf8');
    } catch {
      now = '';
    }
    if (now !== f.before) {
      throw new UserError(`${f.display} changed on disk after it was read; no file was written.`, {
        code: 'MANIFEST_STALE',
        suggestion: 'Run the command again to plan against the current files.',
      });
    }
  }
  const written: string[] = [];
  for (const f of plan.files) {
    // Write through a symlink to its target: renaming over the link would replace it with a file.
    let target = f.path;
    try {
      target = realpathSync(f.path);
    } catch {}
    writeFileAtomic(target, f.after, f.mode);
    written.push(f.path);
  }
  return written;
}
