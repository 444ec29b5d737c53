import type { Document, LineCounter } from 'yaml';
import type { EnvEntry } from './env-file.js';

/** A YAML file of the tree: every document of the stream, parsed with source ranges kept. */
export interface YamlFile {
  type: 'yaml';
  /** Absolute path. */
  path: string;
  /** Path shown to the user and in diffs (relative to the tree's base, `/` separators). */
  display: string;
  source: string;
  mode: number;
  eol: '\n' | '\r\n';
  docs: Document.Parsed[];
  lineCounter: LineCounter;
}

/** A `.env` file (KEY=VALUE lines). */
export interface EnvFile {
  type: 'env';
  path: string;
  display: string;
  source: string;
  mode: number;
  eol: '\n' | '\r\n';
  entries: EnvEntry[];
}

export type ManifestFile = YamlFile | EnvFile;

/** Which objects an edit is about. Namespace is matched only when both sides have one. */
export interface ObjectSelector {
  kind?: string;
  name: string;
  namespace?: string;
}

/** One Kubernetes object found in the tree (one YAML document). */
export interface K8sObject {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
  /** Display path of the file. */
  file: string;
  /** Index of the document in the file's YAML stream (0-based). */
  docIndex: number;
  /** 1-based line where the document's content starts. */
  line: number;
}

/** Something a Kustomize file changes on top of the base objects (a patch, a replicas override). */
export interface KustomizeEffect {
  /** kustomization file and line of the entry that declares the change. */
  kustomization: string;
  entryLine: number;
  what: 'strategic-merge patch' | 'JSON 6902 patch' | 'replicas override' | 'generator merge';
  /** Where the change is written (the patch file and line), when visible. */
  source?: { file: string; line: number };
  /** Objects it applies to; undefined fields match anything. */
  target: { kind?: string; name?: string; namespace?: string };
  /** Directories whose objects it can reach (the kustomization's own and its resources'). */
  scope: string[];
  /** Field paths it sets (semantic: list items of maps with a `name` as `[name=x]`), or 'unknown'. */
  paths: Array<{ segments: string[]; pointer: boolean; line: number }> | 'unknown';
}

/** A ConfigMap or Secret produced by a Kustomize generator rather than written as YAML. */
export interface GeneratedObject {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  namespace?: string;
  kustomization: string;
  line: number;
  /** Keys with where each value lives: a `literals` entry or a line of an env file. */
  keys: GeneratedKey[];
  /** Keys read from files the library does not parse (`files:`), by key name. */
  opaqueKeys: string[];
}

export type GeneratedKey =
  | {
      key: string;
      value: string;
      site: { type: 'literal'; file: string; docIndex: number; path: (string | number)[]; line: number };
    }
  | { key: string; value: string; site: { type: 'env-file'; file: string; key: string; line: number } };

export interface ManifestTree {
  /** Directory display paths are relative to. */
  base: string;
  files: ManifestFile[];
  /** Every Kubernetes object (kind + metadata.name), patches and kustomizations excluded. */
  objects: K8sObject[];
  /** Kustomize patches, replicas overrides and generator merges found in kustomization files. */
  effects: KustomizeEffect[];
  generated: GeneratedObject[];
  /** Files left out, with why (Helm templates, unreadable files…). */
  skipped: Array<{ file: string; reason: string }>;
}

export function findFile(tree: ManifestTree, display: string): ManifestFile | undefined {
  return tree.files.find((f) => f.display === display);
}

export function yamlFileOf(tree: ManifestTree, obj: { file: string }): YamlFile {
  const f = findFile(tree, obj.file);
  if (f?.type !== 'yaml') throw new Error(`internal: ${obj.file} is not a loaded YAML file`);
  return f;
}

export function objectLabel(o: { kind?: string; name: string; namespace?: string }): string {
  return `${o.kind ?? '*'}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

export function matchesSelector(o: K8sObject, s: ObjectSelector): boolean {
  if (s.kind !== undefined && s.kind !== o.kind) return false;
  if (s.name !== o.name) return false;
  if (s.namespace !== undefined && o.namespace !== undefined && s.namespace !== o.namespace) return false;
  return true;
}

export function lineOf(file: YamlFile, offset: number): number {
  return file.lineCounter.linePos(offset).line;
}
