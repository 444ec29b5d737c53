/**
 * The planner's state while edits are turned into byte-range changes: one editor per YAML or
 * `.env` file, the recorded changes with their reasons, refusals, and the helpers every edit
 * handler shares (select an object, patch a field, transform a value site).
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isSeq } from 'yaml';
import type { PlannedChange } from './edits.js';
import { EnvFileEditor } from './env-edit.js';
import { refuse } from './errors.js';
import { pathsOverlap, semanticLabel, toSemantic } from './kustomize.js';
import { isSecretKey, maskValue } from './mask.js';
import {
  type ContainerInfo,
  decodeBase64Text,
  readWorkloads,
  type ValueSite,
  type Workload,
} from './read.js';
import {
  type K8sObject,
  type ManifestTree,
  matchesSelector,
  type ObjectSelector,
  objectLabel,
  yamlFileOf,
} from './tree.js';
import { type PatchValue, type PathSeg, type ScalarCompare, YamlFileEditor } from './yaml-edit.js';

export type Json = PatchValue;

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

export const looseEquals = (a: unknown, b: unknown) =>
  a === b || (a !== undefined && a !== null && b !== undefined && b !== null && String(a) === String(b));

export class Planner {
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
