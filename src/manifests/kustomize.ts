import path from 'node:path';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  YAMLMap,
} from 'yaml';
import type { GeneratedKey, GeneratedObject, KustomizeEffect, ManifestFile, YamlFile } from './tree.js';

const KUSTOMIZATION_NAMES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

export function isKustomizationFile(f: ManifestFile): boolean {
  if (f.type !== 'yaml') return false;
  if (KUSTOMIZATION_NAMES.has(path.basename(f.path))) return true;
  const first = f.docs[0];
  return first !== undefined && first.get('kind') === 'Kustomization';
}

type Leaf = { segments: string[]; pointer: boolean; line: number };

/** The name of a list item, when the item is a map with a scalar `name` (containers, env, ports…). */
function itemName(node: unknown): string | undefined {
  if (!isMap(node)) return undefined;
  const n = node.get('name', true);
  return isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number')
    ? String(n.value)
    : undefined;
}

/**
 * Field paths a strategic-merge patch document sets. Lists of maps with a `name` are merged by
 * name in Kubernetes, so their items become `[name=x]` segments; other lists replace wholesale.
 */
function leaves(node: unknown, prefix: string[], lc: LineCounter, out: Leaf[], top: boolean): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined) continue;
    const line = lc.linePos((pair.key as Node).range?.[0] ?? 0).line;
    if (top && (key === 'apiVersion' || key === 'kind')) continue;
    if (key.startsWith('$')) {
      out.push({ segments: prefix, pointer: false, line });
      continue;
    }
    const segs = [...prefix, key];
    if (top && key === 'metadata' && isMap(pair.value)) {
      for (const mp of pair.value.items) {
        const mk = isScalar(mp.key) ? String(mp.key.value) : '';
        if (mk === 'name' || mk === 'namespace') continue;
        leaves(mapOf([mp]), segs, lc, out, false);
      }
      continue;
    }
    const v = pair.value;
    if (isMap(v)) leaves(v, segs, lc, out, false);
    else if (isSeq(v) && v.items.length > 0 && v.items.every((i) => itemName(i) !== undefined)) {
      for (const item of v.items) {
        const name = itemName(item)!;
        const sub: Leaf[] = [];
        const m = item as YAMLMap;
        leaves(
          mapOf(m.items.filter((p) => !(isScalar(p.key) && p.key.value === 'name'))),
          [...segs, `[name=${name}]`],
          lc,
          sub,
          false,
        );
        if (sub.length === 0) out.push({ segments: [...segs, `[name=${name}]`], pointer: false, line });
        out.push(...sub);
      }
    } else out.push({ segments: segs, pointer: false, line });
  }
}

/** A detached map holding a subset of another map's pairs, so `leaves` can walk just those. */
function mapOf(items: YAMLMap['items']): YAMLMap {
  const m = new YAMLMap();
  m.items = items;
  return m;
}

function str(node: unknown): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

function targetOf(node: unknown): KustomizeEffect['target'] {
  if (!isMap(node)) return {};
  const kind = str(node.get('kind', true));
  const name = str(node.get('name', true));
  const namespace = str(node.get('namespace', true));
  // Kustomize accepts regular expressions in target names: treat those as "any name".
  const plainName = name !== undefined && /^[A-Za-z0-9.-]+$/.test(name) ? name : undefined;
  return {
    ...(kind ? { kind } : {}),
    ...(plainName ? { name: plainName } : {}),
    ...(namespace ? { namespace } : {}),
  };
}

function jsonPointerLeaves(seq: unknown, lc: LineCounter, lineFallback: number): Leaf[] | undefined {
  if (!isSeq(seq)) return undefined;
  const out: Leaf[] = [];
  for (const op of seq.items) {
    if (!isMap(op)) return undefined;
    for (const key of ['path', 'from']) {
      const p = op.get(key, true);
      if (!isScalar(p) || typeof p.value !== 'string') continue;
      const segments = p.value
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      out.push({ segments, pointer: true, line: p.range ? lc.linePos(p.range[0]).line : lineFallback });
    }
  }
  return out;
}

export interface KustomizeAnalysis {
  patchFiles: Set<string>;
  effects: KustomizeEffect[];
  generated: GeneratedObject[];
}

/**
 * Reads every kustomization in the tree: which files are patches (not objects), what each patch,
 * replicas override and generator changes, and which ConfigMaps/Secrets are generated. The
 * planner refuses to edit a field one of these overrides, since the edit would not take effect.
 */
export function analyseKustomize(
  files: ManifestFile[],
  loadFile: (abs: string, type: 'yaml' | 'env') => ManifestFile | undefined,
): KustomizeAnalysis {
  const patchFiles = new Set<string>();
  const effects: KustomizeEffect[] = [];
  const generated: GeneratedObject[] = [];
  const kusts = files.filter(isKustomizationFile) as YamlFile[];
  for (const kf of kusts) {
    const doc = kf.docs[0];
    if (!doc || !isMap(doc.contents)) continue;
    const dir = path.dirname(kf.path);
    const lc = kf.lineCounter;
    const lineAt = (n: unknown) => lc.linePos((n as Node | undefined)?.range?.[0] ?? 0).line;
    const scope = [dir];
    for (const key of ['resources', 'bases', 'components']) {
      const list = doc.get(key, true);
      if (!isSeq(list)) continue;
      for (const item of list.items) {
        const s = str(item);
        if (!s || s.includes('://')) continue;
        const abs = path.resolve(dir, s);
        scope.push(/\.ya?ml$/i.test(s) ? path.dirname(abs) : abs);
      }
    }
    const nsNode = str(doc.get('namespace', true));

    const addPatch = (
      what: KustomizeEffect['what'],
      entry: Node,
      target: KustomizeEffect['target'] | undefined,
      fileRef: string | undefined,
      inline: string | undefined,
      inlineNode: Node | undefined,
    ) => {
      const entryLine = lineAt(entry);
      let docs: Document.Parsed[] = [];
      let plc = lc;
      let srcFile = kf.display;
      let offsetLine = 0;
      if (fileRef !== undefined) {
        const abs = path.resolve(dir, fileRef);
        // Patch files may be JSON (`patch.json`) or live outside the walked extensions: read them too.
        const f = files.find((x) => x.path === abs) ?? loadFile(abs, 'yaml');
        if (f?.type !== 'yaml') {
          effects.push({
            kustomization: kf.display,
            entryLine,
            what,
            target: target ?? {},
            scope,
            paths: 'unknown',
          });
          return;
        }
        patchFiles.add(abs);
        docs = f.docs;
        plc = f.lineCounter;
        srcFile = f.display;
      } else if (inline !== undefined) {
        plc = new LineCounter();
        const parsed = parseAllDocuments(inline, { lineCounter: plc });
        docs = Array.isArray(parsed) ? parsed : [];
        // Lines of an inline patch count from the line of the string in the kustomization.
        offsetLine =
          lineAt(inlineNode) - (isScalar(inlineNode) && inlineNode.type?.startsWith('BLOCK') ? 0 : 1);
      }
      for (const d of docs) {
        const ops = jsonPointerLeaves(d.contents, plc, entryLine);
        if (ops) {
          effects.push({
            kustomization: kf.display,
            entryLine,
            what: 'JSON 6902 patch',
            source: { file: srcFile, line: (ops[0]?.line ?? 1) + offsetLine },
            target: target ?? {},
            scope,
            paths: ops.map((o) => ({ ...o, line: o.line + offsetLine })),
          });
          continue;
        }
        if (!isMap(d.contents)) continue;
        const out: Leaf[] = [];
        leaves(d.contents, [], plc, out, true);
        const own = targetOf(
          mapOf([...d.contents.items, ...((d.get('metadata', true) as YAMLMap | undefined)?.items ?? [])]),
        );
        effects.push({
          kustomization: kf.display,
          entryLine,
          what: 'strategic-merge patch',
          source: { file: srcFile, line: lineAt(d.contents) + offsetLine },
          target: target ?? own,
          scope,
          paths: out.map((o) => ({ ...o, line: o.line + offsetLine })),
        });
      }
    };

    const psm = doc.get('patchesStrategicMerge', true);
    if (isSeq(psm)) {
      for (const item of psm.items) {
        const s = str(item);
        if (s === undefined) continue;
        if (s.includes('\n'))
          addPatch('strategic-merge patch', item as Node, undefined, undefined, s, item as Node);
        else addPatch('strategic-merge patch', item as Node, undefined, s, undefined, undefined);
      }
    }
    for (const key of ['patches', 'patchesJson6902']) {
      const list = doc.get(key, true);
      if (!isSeq(list)) continue;
      for (const item of list.items) {
        if (!isMap(item)) continue;
        const tnode = item.get('target', true);
        const target = tnode === undefined ? undefined : targetOf(tnode);
        const p = str(item.get('path', true));
        const inlineNode = item.get('patch', true) as Node | undefined;
        const inline = str(inlineNode);
        addPatch(
          key === 'patches' ? 'strategic-merge patch' : 'JSON 6902 patch',
          item as Node,
          target,
          p,
          inline,
          inlineNode,
        );
      }
    }
    const replicas = doc.get('replicas', true);
    if (isSeq(replicas)) {
      for (const item of replicas.items) {
        if (!isMap(item)) continue;
        const name = str(item.get('name', true));
        if (!name) continue;
        const line = lineAt(item);
        effects.push({
          kustomization: kf.display,
          entryLine: line,
          what: 'replicas override',
          source: { file: kf.display, line },
          target: { name },
          scope,
          paths: [{ segments: ['spec', 'replicas'], pointer: false, line }],
        });
      }
    }
    for (const [key, kind] of [
      ['configMapGenerator', 'ConfigMap'],
      ['secretGenerator', 'Secret'],
    ] as const) {
      const list = doc.get(key, true);
      if (!isSeq(list)) continue;
      list.items.forEach((item, i) => {
        if (!isMap(item)) return;
        const name = str(item.get('name', true));
        if (!name) return;
        const behavior = str(item.get('behavior', true)) ?? 'create';
        const line = lineAt(item);
        const keys: GeneratedKey[] = [];
        const opaqueKeys: string[] = [];
        const lits = item.get('literals', true);
        if (isSeq(lits)) {
          lits.items.forEach((lit, j) => {
            const s = str(lit);
            if (s === undefined || !s.includes('=')) return;
            const eq = s.indexOf('=');
            keys.push({
              key: s.slice(0, eq),
              value: s.slice(eq + 1),
              site: {
                type: 'literal',
                file: kf.display,
                docIndex: 0,
                path: [key, i, 'literals', j],
                line: lineAt(lit),
              },
            });
          });
        }
        const envRefs: string[] = [];
        const envs = item.get('envs', true);
        if (isSeq(envs)) for (const e of envs.items) if (str(e)) envRefs.push(str(e)!);
        const env1 = str(item.get('env', true));
        if (env1) envRefs.push(env1);
        for (const ref of envRefs) {
          const ef = loadFile(path.resolve(dir, ref), 'env');
          if (ef?.type !== 'env') {
            opaqueKeys.push(`*${ref}`);
            continue;
          }
          for (const entry of ef.entries) {
            if (entry.value === undefined) continue;
            keys.push({
              key: entry.key,
              value: entry.value,
              site: { type: 'env-file', file: ef.display, key: entry.key, line: entry.line },
            });
          }
        }
        const fl = item.get('files', true);
        if (isSeq(fl)) {
          for (const f of fl.items) {
            const s = str(f);
            if (s) opaqueKeys.push(s.includes('=') ? s.slice(0, s.indexOf('=')) : path.basename(s));
          }
        }
        if (behavior === 'create') {
          generated.push({
            kind,
            name,
            ...((str(item.get('namespace', true)) ?? nsNode)
              ? { namespace: str(item.get('namespace', true)) ?? nsNode }
              : {}),
            kustomization: kf.display,
            line,
            keys,
            opaqueKeys,
          });
        } else {
          effects.push({
            kustomization: kf.display,
            entryLine: line,
            what: 'generator merge',
            source: { file: kf.display, line },
            target: { kind, name },
            scope,
            paths:
              behavior === 'replace' || opaqueKeys.length > 0
                ? 'unknown'
                : keys.flatMap((k) => [
                    { segments: ['data', k.key], pointer: false, line: k.site.line },
                    { segments: ['stringData', k.key], pointer: false, line: k.site.line },
                  ]),
          });
        }
      });
    }
  }
  return { patchFiles, effects, generated };
}

/**
 * Converts an index path inside a document (`['spec','template','spec','containers',0,'env',2]`)
 * or a JSON pointer from a 6902 patch into the semantic form patches are compared in: list items
 * that are maps with a `name` become `[name=x]`.
 */
export function toSemantic(doc: Document, segs: Array<string | number>): string[] {
  const out: string[] = [];
  let node: unknown = doc.contents;
  for (const seg of segs) {
    if (isSeq(node)) {
      if (seg === '-') {
        break;
      }
      const idx = typeof seg === 'number' ? seg : Number(seg);
      const item = Number.isInteger(idx) ? node.items[idx] : undefined;
      const name = itemName(item);
      out.push(name !== undefined ? `[name=${name}]` : `[${idx}]`);
      node = item;
    } else if (isMap(node)) {
      out.push(String(seg));
      node = node.get(String(seg), true);
    } else {
      out.push(String(seg));
      node = undefined;
    }
  }
  return out;
}

/** A semantic path as people read it: `spec.template.spec.containers[api].env[DATABASE_URL].value`. */
export function semanticLabel(segs: string[]): string {
  return segs.join('.').replace(/\.\[(?:name=)?([^\]]*)\]/g, '[$1]');
}

/** Two field paths touch the same value when one is a prefix of the other. */
export function pathsOverlap(a: string[], b: string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
