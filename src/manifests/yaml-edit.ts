import { isDeepStrictEqual } from 'node:util';
import { diffArrays } from 'diff';
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseAllDocuments,
  parseDocument,
  type Scalar,
  stringify,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { refuse } from './errors.js';
import { semanticLabel, toSemantic } from './kustomize.js';
import { yamlParseOptions } from './load.js';
import type { YamlFile } from './tree.js';

export type PathSeg = string | number;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type PatchValue = Json;

/**
 * A queued scalar rewrite. `rawFns` holds the string transforms that produced `value`, when every
 * change came from one: applied to the raw source text they keep escapes and encodings as written.
 */
interface PendingScalar {
  docIndex: number;
  path: PathSeg[];
  node: Scalar;
  value: Json;
  rawFns?: Array<(s: string) => string>;
}

/** Reads back the raw inner text of a one-line scalar in the given style; undefined if it is not a string. */
function decodeRaw(type: Scalar['type'], raw: string): string | undefined {
  if (/[\n\r]/.test(raw)) return undefined;
  const text = type === 'QUOTE_DOUBLE' ? `"${raw}"` : type === 'QUOTE_SINGLE' ? `'${raw}'` : raw;
  for (const version of ['1.1', '1.2'] as const) {
    const d = parseDocument(text, { version });
    if (d.errors.length > 0 || !isScalar(d.contents) || typeof d.contents.value !== 'string')
      return undefined;
    if (version === '1.2') return d.contents.value;
  }
  return undefined;
}

/** A text replacement in the original source: [start, end) becomes `text`. */
interface Splice {
  start: number;
  end: number;
  text: string;
  seq: number;
  /** 0 for text inside a node (a block scalar's new line), 1 for text after it: inner text goes first. */
  rank: number;
}

export interface ScalarCompare {
  /** Decides whether the current value already equals the wanted one (e.g. "500m" vs 0.5 CPU). */
  equals?: (current: unknown, wanted: unknown) => boolean;
}

function isPlainObject(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether `value` can be written as a plain (unquoted) scalar and read back as the same string by
 * both YAML 1.2 and YAML 1.1 readers (Kubernetes reads `on`, `yes`, `0755` the 1.1 way).
 */
export function plainSafe(value: string, inFlow: boolean): boolean {
  if (value === '' || /[\n\r\t]/.test(value) || value !== value.trim()) return false;
  if (inFlow && /[,[\]{}]/.test(value)) return false;
  for (const version of ['1.1', '1.2'] as const) {
    const d = parseDocument(value, { version });
    const c = d.contents;
    if (d.errors.length > 0 || !isScalar(c) || c.value !== value || c.type !== 'PLAIN') return false;
  }
  return true;
}

/** A new scalar (no original style to keep): plain when safe, else double-quoted. */
function renderNewScalar(value: Json, inFlow: boolean): string {
  if (typeof value === 'string') return plainSafe(value, inFlow) ? value : JSON.stringify(value);
  return value === null ? 'null' : String(value);
}

function renderFlow(value: Json, spaced: boolean): string {
  if (Array.isArray(value)) return `[${value.map((v) => renderFlow(v, spaced)).join(', ')}]`;
  if (isPlainObject(value)) {
    const body = Object.entries(value)
      .map(([k, v]) => `${renderNewScalar(k, true)}: ${renderFlow(v, spaced)}`)
      .join(', ');
    return spaced && body ? `{ ${body} }` : `{${body}}`;
  }
  return renderNewScalar(value, true);
}

/**
 * Verifies and splices edits into one YAML file. Every edit is a byte-range replacement located
 * through the parsed documents' source ranges, so everything outside the edited values stays
 * byte-identical (String(doc) would re-flow comments, flow maps and sequence indentation). Each
 * edit also records the `setIn`/`addIn` it stands for; {@link YamlFileEditor.build} re-parses the
 * result and checks it equals the original documents with exactly those changes applied.
 */
export class YamlFileEditor {
  readonly file: YamlFile;
  private readonly splices: Splice[] = [];
  private readonly oracles = new Map<number, Array<(d: Document) => void>>();
  private seq = 0;
  private readonly aliasCache = new Map<number, Set<string>>();
  private style?: { step: number; indentSeq: boolean };
  /** The documents of the edited text, parsed by {@link build} (for masking without a re-parse). */
  afterDocs?: Document.Parsed[];
  /** Scalar rewrites, keyed by the node's start offset: a later edit of the same value wins. */
  private readonly pending = new Map<number, PendingScalar>();

  constructor(file: YamlFile) {
    this.file = file;
  }

  get changed(): boolean {
    return this.splices.length > 0 || [...this.pending.values()].some((p) => p.value !== p.node.value);
  }

  private get src(): string {
    return this.file.source;
  }

  line(offset: number): number {
    return this.file.lineCounter.linePos(offset).line;
  }

  private col(offset: number): number {
    return offset - (this.src.lastIndexOf('\n', offset - 1) + 1);
  }

  refuseAt(node: { range?: [number, number, number] | null } | null | undefined, reason: string): never {
    const off = node?.range?.[0] ?? 0;
    const pos = this.file.lineCounter.linePos(off);
    refuse(this.file.display, pos.line, reason, pos.col);
  }

  /** A path as people read it: `containers[api].resources`, not `spec.template.spec.containers.0.resources`. */
  label(docIndex: number, path: PathSeg[]): string {
    if (path.length === 0) return 'the document';
    return semanticLabel(toSemantic(this.doc(docIndex), path)).replace(/^spec\.template\.spec\./, '');
  }

  private doc(docIndex: number): Document.Parsed {
    const d = this.file.docs[docIndex];
    if (!d) throw new Error(`internal: ${this.file.display} has no document ${docIndex}`);
    return d;
  }

  /** Anchors that some alias in the document refers to: nodes carrying them are shared. */
  private usedAnchors(docIndex: number): Set<string> {
    let s = this.aliasCache.get(docIndex);
    if (!s) {
      const set = new Set<string>();
      visit(this.doc(docIndex), {
        Alias: (_k, n) => {
          set.add(n.source);
        },
      });
      this.aliasCache.set(docIndex, set);
      s = set;
    }
    return s;
  }

  private checkShared(docIndex: number, node: unknown, path: PathSeg[]): void {
    const where = this.label(docIndex, path);
    if (isAlias(node)) {
      this.refuseAt(
        node as Node,
        `${where} is an alias (*${node.source}) of a value defined elsewhere; changing it would change every place that uses &${node.source}`,
      );
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor && this.usedAnchors(docIndex).has(anchor)) {
      this.refuseAt(
        node as Node,
        `${where} is anchored as &${anchor} and reused by *${anchor}; changing it would change every place that uses it`,
      );
    }
  }

  private addOracle(docIndex: number, fn: (d: Document) => void): void {
    const list = this.oracles.get(docIndex) ?? [];
    list.push(fn);
    this.oracles.set(docIndex, list);
  }

  private splice(start: number, end: number, text: string, rank = 1): void {
    this.splices.push({ start, end, text, seq: this.seq++, rank });
  }

  /** Finds a key in a map; a key that only arrives through a `<<` merge is refused. */
  private findPair(docIndex: number, map: YAMLMap, key: string, path: PathSeg[]): Pair | undefined {
    const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair) return pair;
    // With merge keys on, the parser gives `<<` a symbol value.
    const merge = map.items.find(
      (p) =>
        isScalar(p.key) &&
        (p.key.value === '<<' || (typeof p.key.value === 'symbol' && p.key.value.description === '<<')),
    );
    if (merge) {
      const sources = isSeq(merge.value) ? merge.value.items : [merge.value];
      for (const s of sources) {
        const target = isAlias(s) ? s.resolve(this.doc(docIndex)) : s;
        if (isMap(target) && target.items.some((p) => isScalar(p.key) && String(p.key.value) === key)) {
          this.refuseAt(
            merge.key as Node,
            `${this.label(docIndex, [...path, key])} comes from the merge key \`<<\` here; setting it would override a shared value`,
          );
        }
      }
    }
    return undefined;
  }

  /** Walks to the node at `path`; refuses aliases and shared anchors on the way. */
  resolve(docIndex: number, path: PathSeg[]): Node | null | undefined {
    const doc = this.doc(docIndex);
    let node: unknown = doc.contents;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      this.checkShared(docIndex, node, path.slice(0, i));
      if (isMap(node)) {
        const pair = this.findPair(docIndex, node, String(seg), path.slice(0, i));
        if (!pair) return undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (node === undefined) return undefined;
      } else {
        return undefined;
      }
    }
    this.checkShared(docIndex, node, path);
    return node as Node | null;
  }

  /** Reads the plain JS value at `path` (aliases resolved), or undefined. */
  get(docIndex: number, path: PathSeg[]): unknown {
    const n = this.doc(docIndex).getIn(path, true);
    if (n === undefined) return undefined;
    if (isScalar(n)) {
      const p = n.range ? this.pending.get(n.range[0]) : undefined;
      return p ? p.value : n.value;
    }
    return (n as Node | null)?.toJSON?.();
  }

  private detectStyle(): { step: number; indentSeq: boolean } {
    if (this.style) return this.style;
    let step = 0;
    let indentSeq: boolean | undefined;
    for (const d of this.file.docs) {
      visit(d, {
        Pair: (_k, pair) => {
          if (!isScalar(pair.key) || !pair.key.range) return;
          const keyCol = this.col(pair.key.range[0]);
          const v = pair.value;
          if (
            isMap(v) &&
            !v.flow &&
            v.items[0] &&
            isScalar(v.items[0].key) &&
            v.items[0].key.range &&
            step === 0
          ) {
            const s = this.col(v.items[0].key.range[0]) - keyCol;
            if (s > 0) step = s;
          }
          if (isSeq(v) && !v.flow && v.items[0] && indentSeq === undefined) {
            const dash = this.dashOffset(v.items[0] as Node);
            if (dash !== undefined) indentSeq = this.col(dash) > keyCol;
          }
          if (step !== 0 && indentSeq !== undefined) return visit.BREAK;
          return undefined;
        },
      });
    }
    this.style = { step: step || 2, indentSeq: indentSeq ?? true };
    return this.style;
  }

  /** The offset of the `-` introducing a block sequence item. */
  private dashOffset(item: Node): number | undefined {
    const start = item.range?.[0];
    if (start === undefined) return undefined;
    const lineStart = this.src.lastIndexOf('\n', start - 1) + 1;
    for (let i = start - 1; i >= lineStart; i--) {
      if (this.src[i] === '-' && /[ \t]/.test(this.src[i + 1] ?? '')) return i;
    }
    return undefined;
  }

  /** Position just after the line holding `pos` (after its line break). */
  private lineEndAfter(pos: number): number {
    if (pos > 0 && this.src[pos - 1] === '\n') return pos;
    const nl = this.src.indexOf('\n', pos);
    return nl === -1 ? this.src.length : nl + 1;
  }

  private renderBlockLines(value: Json, col: number): string[] {
    const { step, indentSeq } = this.detectStyle();
    // YAML 1.1 rules for quoting, since that is how Kubernetes reads the file back.
    const text = stringify(value, {
      indent: step,
      indentSeq,
      lineWidth: 0,
      minContentWidth: 0,
      version: '1.1',
    });
    return text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => (l === '' ? '' : ' '.repeat(col) + l));
  }

  private insertLines(pos: number, lines: string[]): void {
    const eol = this.file.eol;
    let text = lines.join(eol) + eol;
    if (pos === this.src.length && pos > 0 && this.src[pos - 1] !== '\n')
      text = eol + text.slice(0, -eol.length);
    this.splice(pos, pos, text);
  }

  /** Last offset of a pair's content (value, or key when the value is empty). */
  private pairEnd(pair: Pair): number {
    const v = pair.value as Node | null;
    return v?.range?.[1] ?? (pair.key as Node).range?.[1] ?? 0;
  }

  private isEmptyValue(v: unknown): boolean {
    if (v === null || v === undefined) return true;
    if (isScalar(v)) return v.value === null;
    if (isCollection(v)) return v.flow === true && v.items.length === 0;
    return false;
  }

  /**
   * Patches the value at `path` with `value`: maps are merged key by key (new keys inserted
   * after the last existing one, at its indentation), lists of the same length item by item,
   * other lists replaced, scalars rewritten in their original quoting style.
   */
  patch(docIndex: number, path: PathSeg[], value: PatchValue, cmp: ScalarCompare = {}): void {
    const node = this.resolve(docIndex, path);
    if (node === undefined) {
      // The key is missing: insert it (with everything below it) into the nearest existing map.
      for (let i = path.length - 1; i >= 0; i--) {
        const parentPath = path.slice(0, i);
        const parent = this.resolve(docIndex, parentPath);
        if (parent === undefined) continue;
        let wrapped: Json = value;
        for (let j = path.length - 1; j > i; j--) {
          const seg = path[j]!;
          if (typeof seg === 'number')
            this.refuseAt(parent as Node, `cannot create list item ${seg} of ${path.slice(0, j).join('.')}`);
          wrapped = { [seg]: wrapped };
        }
        const seg = path[i]!;
        if (typeof seg !== 'number' && i > 0 && this.isEmptyValue(parent)) {
          this.fillEmpty(docIndex, parentPath, { [seg]: wrapped });
          return;
        }
        if (typeof seg === 'number' || !isMap(parent)) {
          this.refuseAt(
            parent as Node,
            `cannot create ${path.slice(0, i + 1).join('.')}: the parent is not a map`,
          );
        }
        this.insertIntoMap(docIndex, parentPath, parent, { [seg]: wrapped });
        return;
      }
      this.refuseAt(null, `cannot find ${this.label(docIndex, path)}`);
    }
    this.patchNode(docIndex, path, node, value, cmp);
  }

  private patchNode(
    docIndex: number,
    path: PathSeg[],
    node: Node | null,
    value: Json,
    cmp: ScalarCompare,
  ): void {
    const where = this.label(docIndex, path);
    this.checkShared(docIndex, node, path);
    if (isPlainObject(value)) {
      // An empty `{}` in block context becomes block content, as a person would write it.
      if (isMap(node) && node.flow && node.items.length === 0 && !this.inFlow(docIndex, path)) {
        this.fillEmpty(docIndex, path, value);
        return;
      }
      if (!isMap(node)) {
        if (this.isEmptyValue(node)) {
          this.fillEmpty(docIndex, path, value);
          return;
        }
        this.refuseAt(node, `${where} is not a map; expected keys ${Object.keys(value).join(', ')}`);
      }
      const missing: { [k: string]: Json } = {};
      for (const [k, v] of Object.entries(value)) {
        const pair = this.findPair(docIndex, node, k, path);
        if (!pair) {
          missing[k] = v;
          continue;
        }
        const child = pair.value as Node | null;
        if ((isPlainObject(v) || Array.isArray(v)) && this.isEmptyValue(child)) {
          this.checkShared(docIndex, child, [...path, k]);
          this.fillEmpty(docIndex, [...path, k], v);
        } else this.patchNode(docIndex, [...path, k], child, v, cmp);
      }
      if (Object.keys(missing).length > 0) this.insertIntoMap(docIndex, path, node, missing);
      return;
    }
    if (Array.isArray(value)) {
      if (isSeq(node) && node.items.length === value.length && value.length > 0) {
        value.forEach((v, i) => {
          this.patchNode(docIndex, [...path, i], node.items[i] as Node | null, v, cmp);
        });
        return;
      }
      if (this.isEmptyValue(node)) {
        this.fillEmpty(docIndex, path, value);
        return;
      }
      this.replaceCollection(docIndex, path, node, value);
      return;
    }
    if (!isScalar(node))
      this.refuseAt(node, `${where} is a ${isMap(node) ? 'map' : 'list'}, not a single value`);
    const current = this.pending.get(node.range?.[0] ?? -1)?.value ?? node.value;
    const equal = cmp.equals ? cmp.equals(current, value) : current === value;
    if (equal) return;
    this.replaceScalar(docIndex, path, node, value);
  }

  /** Queues a scalar rewrite; {@link emitScalar} turns the final value into a splice at build time. */
  private replaceScalar(
    docIndex: number,
    path: PathSeg[],
    node: Scalar,
    value: Json,
    rawFn?: (s: string) => string,
  ): void {
    if (!node.range) this.refuseAt(node, `${this.label(docIndex, path)}: cannot locate the value`);
    if (typeof value === 'string' && node.type === 'BLOCK_FOLDED') {
      this.refuseAt(node, `${this.label(docIndex, path)} is a folded block scalar (>); edit it by hand`);
    }
    const prev = this.pending.get(node.range[0]);
    const fns = rawFn && (prev === undefined || prev.rawFns) ? [...(prev?.rawFns ?? []), rawFn] : undefined;
    this.pending.set(node.range[0], { docIndex, path, node, value, ...(fns ? { rawFns: fns } : {}) });
  }

  /** Rewrites one scalar keeping its quoting style (plain stays plain when it reads back the same). */
  private emitScalar(p: PendingScalar): void {
    const { docIndex, path, node, value } = p;
    if (value === node.value) return;
    const [start, end] = node.range ?? [0, 0];
    const inFlow = this.inFlow(docIndex, path);
    if (typeof value === 'string' && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')) {
      this.setBlockLines(docIndex, path, node, value);
      return;
    }
    if (typeof value === 'string' && p.rawFns && node.type !== undefined) {
      // Apply the transforms to the bytes as written (e.g. `caf\u00e9` stays escaped) when that
      // reads back as exactly the wanted value; otherwise fall through to a fresh rendering.
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      const innerStart = quoted ? start + 1 : start;
      const innerEnd = quoted ? end - 1 : end;
      const raw = p.rawFns.reduce((acc, fn) => fn(acc), this.src.slice(innerStart, innerEnd));
      if (decodeRaw(node.type, raw) === value && (!inFlow || !/[,[\]{}]/.test(raw) || quoted)) {
        this.splice(innerStart, innerEnd, raw);
        this.addOracle(docIndex, (d) => d.setIn(path, value));
        return;
      }
    }
    let text: string;
    if (typeof value !== 'string') text = value === null ? 'null' : String(value);
    else if (node.type === 'PLAIN') text = plainSafe(value, inFlow) ? value : JSON.stringify(value);
    else if (node.type === 'QUOTE_SINGLE' && !/[\n\r]/.test(value)) text = `'${value.replace(/'/g, "''")}'`;
    else text = JSON.stringify(value);
    this.splice(start, end, text);
    this.addOracle(docIndex, (d) => d.setIn(path, value));
  }

  private inFlow(docIndex: number, path: PathSeg[]): boolean {
    let node: unknown = this.doc(docIndex).contents;
    for (const seg of path.slice(0, -1)) {
      if (isCollection(node) && node.flow) return true;
      node = isMap(node) ? node.get(String(seg), true) : isSeq(node) ? node.items[Number(seg)] : undefined;
    }
    return isCollection(node) && node.flow === true;
  }

  /**
   * Changes a literal block scalar (`|`) line by line, so a postgresql.conf kept in a ConfigMap
   * only shows the changed lines in the diff.
   */
  private setBlockLines(docIndex: number, path: PathSeg[], node: Scalar, value: string): void {
    const where = this.label(docIndex, path);
    const old = String(node.value);
    const [r0, r1] = node.range ?? [0, 0];
    const src = this.src;
    const header = src.slice(r0, src.indexOf('\n', r0));
    if (node.type !== 'BLOCK_LITERAL' || /\d/.test(header.replace(/#.*$/, ''))) {
      this.refuseAt(node, `${where} is a folded or explicitly indented block scalar; edit it by hand`);
    }
    if (old.endsWith('\n') !== value.endsWith('\n')) {
      this.refuseAt(node, `${where}: the change would alter the block's final line break`);
    }
    const lines: Array<{ start: number; textEnd: number; end: number }> = [];
    let pos = src.indexOf('\n', r0) + 1;
    while (pos < r1 && lines.length < 100_000) {
      const nl = src.indexOf('\n', pos);
      const end = nl === -1 || nl >= r1 ? r1 : nl + 1;
      let textEnd = nl === -1 || nl >= r1 ? r1 : nl;
      if (src[textEnd - 1] === '\r') textEnd--;
      lines.push({ start: pos, textEnd, end });
      pos = end;
    }
    const nonBlank = lines.filter((l) => src.slice(l.start, l.textEnd).trim() !== '');
    const indent = Math.min(...nonBlank.map((l) => src.slice(l.start, l.textEnd).search(/\S/)));
    const oldLines = old.split('\n');
    const newLines = value.split('\n');
    for (let i = 0; i < Math.min(lines.length, oldLines.length); i++) {
      const l = lines[i]!;
      const text = src.slice(l.start, l.textEnd);
      if (text.trim() !== '' && text.slice(indent) !== oldLines[i]) {
        this.refuseAt(node, `${where}: cannot map the block's lines to the file; edit it by hand`);
      }
    }
    const pad = ' '.repeat(Number.isFinite(indent) ? indent : this.col(r0) + this.detectStyle().step);
    const eol = this.file.eol;
    let oldIdx = 0;
    for (const part of diffArrays(oldLines, newLines)) {
      if (!part.added && !part.removed) {
        oldIdx += part.count ?? part.value.length;
        continue;
      }
      if (part.removed) {
        for (const _ of part.value) {
          const l = lines[oldIdx];
          if (l) this.splice(l.start, l.end, '', 0);
          oldIdx++;
        }
        continue;
      }
      const at = lines[oldIdx]?.start ?? r1;
      const text = part.value.map((l) => (l === '' ? '' : pad + l) + eol).join('');
      if (at === src.length && src[at - 1] !== '\n') this.splice(at, at, eol + text.slice(0, -eol.length), 0);
      else this.splice(at, at, text, 0);
    }
    this.addOracle(docIndex, (d) => d.setIn(path, value));
  }

  /** Adds keys to an existing map, after its last pair, at the indentation of its keys. */
  private insertIntoMap(docIndex: number, path: PathSeg[], map: YAMLMap, obj: { [k: string]: Json }): void {
    this.addOracle(docIndex, (d) => {
      for (const [k, v] of Object.entries(obj)) d.setIn([...path, k], v);
    });
    if (map.flow) {
      const end = (map.range?.[1] ?? 0) - 1;
      if (this.src[end] !== '}')
        this.refuseAt(map, `${this.label(docIndex, path)}: cannot find the end of the flow map`);
      const spaced = this.src[(map.range?.[0] ?? 0) + 1] === ' ';
      const body = Object.entries(obj)
        .map(([k, v]) => `${renderNewScalar(k, true)}: ${renderFlow(v, spaced)}`)
        .join(', ');
      if (map.items.length === 0) {
        this.splice(end, end, spaced ? ` ${body} ` : body);
      } else {
        const last = map.items[map.items.length - 1]!;
        this.splice(this.pairEnd(last), this.pairEnd(last), `, ${body}`);
      }
      return;
    }
    const first = map.items[0];
    const last = map.items[map.items.length - 1];
    if (!first || !last || !(first.key as Node)?.range)
      this.refuseAt(map, `${this.label(docIndex, path)}: empty block map`);
    const col = this.col((first.key as Node).range![0]);
    this.insertLines(this.lineEndAfter(this.pairEnd(last)), this.renderBlockLines(obj, col));
  }

  /** Gives an empty value (`key:`, `key: {}`, `key: []`, `key: null`) block content below its key. */
  private fillEmpty(docIndex: number, path: PathSeg[], value: Json): void {
    this.addOracle(docIndex, (d) => d.setIn(path, value));
    const parentPath = path.slice(0, -1);
    const parent = this.doc(docIndex).getIn(parentPath, true);
    const key = path[path.length - 1]!;
    const pair = isMap(parent)
      ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key))
      : undefined;
    const v = pair?.value as Node | null | undefined;
    if (!pair || !isPair(pair) || (isMap(parent) && parent.flow)) {
      // Inside a flow collection (or a list item): keep it on one line.
      const range = v?.range;
      if (!range)
        this.refuseAt(parent as Node, `${this.label(docIndex, path)}: cannot locate the empty value`);
      this.splice(range[0], range[1], renderFlow(value, false));
      return;
    }
    const keyNode = pair.key as Node;
    const keyCol = this.col(keyNode.range![0]);
    const { step, indentSeq } = this.detectStyle();
    const childCol = Array.isArray(value) && !indentSeq ? keyCol : keyCol + step;
    let after = keyNode.range![1];
    if (v?.range && v.range[1] > v.range[0]) {
      // Remove ` {}` / ` null` and the blanks before it; a trailing comment stays on the key line.
      let s = v.range[0];
      while (s > 0 && (this.src[s - 1] === ' ' || this.src[s - 1] === '\t')) s--;
      this.splice(s, v.range[1], '');
      after = v.range[1];
    }
    const lines = this.renderBlockLines(value, childCol);
    this.insertLines(this.lineEndAfter(after), lines);
  }

  /** Replaces a whole list (or a scalar) by a new value rendered in the same block/flow style. */
  private replaceCollection(docIndex: number, path: PathSeg[], node: Node | null, value: Json): void {
    const range = node?.range;
    if (!range) this.refuseAt(node, `${this.label(docIndex, path)}: cannot locate the value`);
    this.addOracle(docIndex, (d) => d.setIn(path, value));
    if (isCollection(node) && !node.flow) {
      const first = isSeq(node) ? node.items[0] : undefined;
      const dash = first ? this.dashOffset(first as Node) : undefined;
      const col = this.col(dash ?? range[0]);
      const lines = this.renderBlockLines(value, col);
      lines[0] = lines[0]!.slice(col);
      const start = dash ?? range[0];
      const endsWithNl = this.src[range[1] - 1] === '\n';
      this.splice(start, range[1], lines.join(this.file.eol) + (endsWithNl ? this.file.eol : ''));
      return;
    }
    const spaced = isCollection(node) && this.src[range[0] + 1] === ' ';
    this.splice(range[0], range[1], renderFlow(value, spaced));
  }

  /** Appends an item to the list at `path` (block: a new `- ` entry after the last one). */
  append(docIndex: number, path: PathSeg[], item: PatchValue): void {
    const node = this.resolve(docIndex, path);
    if (node === undefined || this.isEmptyValue(node)) {
      if (node !== undefined && !isSeq(node) && !isScalar(node))
        this.refuseAt(node, `${this.label(docIndex, path)} is not a list`);
      this.patch(docIndex, path, [item]);
      return;
    }
    if (!isSeq(node)) this.refuseAt(node, `${this.label(docIndex, path)} is not a list`);
    this.addOracle(docIndex, (d) => d.addIn(path, item));
    const seq = node as YAMLSeq;
    const last = seq.items[seq.items.length - 1] as Node;
    if (seq.flow) {
      const spaced = /^\[\s/.test(this.src.slice(seq.range?.[0] ?? 0));
      const at = last.range?.[1] ?? 0;
      this.splice(at, at, `, ${renderFlow(item, spaced)}`);
      return;
    }
    const firstItem = seq.items[0] as Node;
    const dash = this.dashOffset(firstItem);
    if (dash === undefined)
      this.refuseAt(seq, `${this.label(docIndex, path)}: cannot find the list's "-" markers`);
    const dashCol = this.col(dash);
    const gap = Math.max(1, (firstItem.range?.[0] ?? dash + 2) - dash - 1);
    const body = this.renderBlockLines(item, dashCol + 1 + gap);
    body[0] = `${' '.repeat(dashCol)}-${' '.repeat(gap)}${body[0]!.trimStart()}`;
    this.insertLines(this.lineEndAfter(last.range?.[1] ?? 0), body);
  }

  /** Replaces a string value by `fn(old)`; literal blocks are changed line by line. */
  transformString(docIndex: number, path: PathSeg[], fn: (old: string) => string): void {
    const node = this.resolve(docIndex, path);
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.refuseAt(node as Node, `${this.label(docIndex, path)} is not a string`);
    }
    const current = this.pending.get(node.range?.[0] ?? -1)?.value ?? node.value;
    if (typeof current !== 'string') this.refuseAt(node, `${this.label(docIndex, path)} is not a string`);
    const next = fn(current);
    if (next === current) return;
    this.replaceScalar(docIndex, path, node as Scalar, next, fn);
  }

  /** The edited text, verified: it parses, and equals the original with exactly the edits applied. */
  build(): string {
    for (const p of this.pending.values()) this.emitScalar(p);
    this.pending.clear();
    if (this.splices.length === 0) return this.src;
    const sorted = [...this.splices].sort(
      (a, b) => b.start - a.start || b.end - a.end || b.rank - a.rank || b.seq - a.seq,
    );
    let out = this.src;
    let floor = Number.POSITIVE_INFINITY;
    for (const s of sorted) {
      if (s.end > floor) {
        const pos = this.file.lineCounter.linePos(s.start);
        refuse(this.file.display, pos.line, 'two edits change the same value; make one of them', pos.col);
      }
      out = out.slice(0, s.start) + s.text + out.slice(s.end);
      floor = s.start;
    }
    const parsed = parseAllDocuments(out, yamlParseOptions);
    const docs = Array.isArray(parsed) ? parsed : [];
    this.afterDocs = docs;
    const firstLine = Math.min(...sorted.map((s) => this.line(s.start)));
    if (docs.length !== this.file.docs.length || docs.some((d) => d.errors.length > 0)) {
      const e = docs.flatMap((d) => d.errors)[0];
      refuse(
        this.file.display,
        firstLine,
        `the edit would not produce valid YAML (${e?.message.split('\n')[0] ?? 'document count changed'}); edit by hand`,
      );
    }
    this.file.docs.forEach((orig, i) => {
      const oracles = this.oracles.get(i);
      // A document without edits whose text is byte-identical parses to the same value.
      if (!oracles && orig.range && docs[i]!.range) {
        if (this.src.slice(orig.range[0], orig.range[2]) === out.slice(docs[i]!.range[0], docs[i]!.range[2]))
          return;
      }
      const expected = orig.clone();
      for (const fn of oracles ?? []) fn(expected);
      if (!isDeepStrictEqual(expected.toJS({ maxAliasCount: -1 }), docs[i]!.toJS({ maxAliasCount: -1 }))) {
        refuse(
          this.file.display,
          firstLine,
          'the edit would change more than the intended value; edit by hand',
        );
      }
    });
    return out;
  }
}
