import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, LineCounter, parseAllDocuments } from 'yaml';
import { describeError, UserError } from '../lib/errors.js';
import { parseEnvFile } from './env-file.js';
import { type FileProblem, ManifestParseError } from './errors.js';
import { analyseKustomize, isKustomizationFile } from './kustomize.js';
import type { EnvFile, K8sObject, ManifestFile, ManifestTree, YamlFile } from './tree.js';

export interface LoadOptions {
  /** Directory that display paths (diffs, messages) are relative to. Default: the current directory. */
  base?: string;
}

/** Bounds on a tree walk, so a wrong `--manifests /` fails fast instead of reading a disk. */
const MAX_FILES = 5000;
const MAX_DEPTH = 24;
const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** Options every YAML file is parsed with; the verifier re-parses edited text the same way. */
export const yamlParseOptions = {
  // Kubernetes reads YAML with merge keys (`<<: *base`); resolve them so reads see what it sees.
  merge: true,
  uniqueKeys: true,
  prettyErrors: true,
} as const;

function isYamlName(name: string): boolean {
  return /\.ya?ml$/i.test(name) || name === 'Kustomization';
}

function isEnvName(name: string): boolean {
  return name === '.env' || name.startsWith('.env.') || name.endsWith('.env');
}

function toDisplay(base: string, abs: string): string {
  const rel = path.relative(base, abs);
  return (rel === '' ? path.basename(abs) : rel).split(path.sep).join('/');
}

/** Lists the YAML and env files under `dir`, sorted, skipping VCS, dependencies and Helm templates. */
function walk(
  dir: string,
  depth: number,
  out: Array<{ abs: string; type: 'yaml' | 'env' }>,
  skipped: Array<{ abs: string; reason: string }>,
): void {
  if (depth > MAX_DEPTH) {
    throw new UserError(`The manifest directory is nested deeper than ${MAX_DEPTH} levels at ${dir}.`, {
      suggestion: 'Point --manifests at the directory that holds the manifests, not a parent of it.',
    });
  }
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const isChart = entries.some((e) => e.isFile() && e.name === 'Chart.yaml');
  for (const e of entries) {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      // Helm templates are Go templates, not YAML: they would all fail to parse.
      if (isChart && e.name === 'templates') {
        skipped.push({ abs, reason: 'Helm chart templates (Go templates, not YAML)' });
        continue;
      }
      walk(abs, depth + 1, out, skipped);
    } else if (e.isFile()) {
      if (isYamlName(e.name)) out.push({ abs, type: 'yaml' });
      else if (isEnvName(e.name)) out.push({ abs, type: 'env' });
      if (out.length > MAX_FILES) {
        throw new UserError(`More than ${MAX_FILES} manifest files under ${dir}.`, {
          suggestion: 'Point --manifests at the directory that holds the manifests, not a parent of it.',
        });
      }
    }
  }
}

function readText(abs: string, display: string): { source: string; mode: number } {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch (error) {
    throw new UserError(`Cannot read ${display}: ${describeError(error)}.`, {
      suggestion: 'Check the path given to --manifests or --dotenv.',
    });
  }
  if (st.size > MAX_FILE_BYTES) {
    throw new UserError(
      `${display} is ${st.size} bytes; manifest files above ${MAX_FILE_BYTES} bytes are not read.`,
    );
  }
  return { source: readFileSync(abs, 'utf8'), mode: st.mode & 0o7777 };
}

type YamlErrorLike = {
  code?: string;
  message: string;
  pos?: [number, number];
  linePos?: Array<{ line: number; col: number }>;
};

function yamlProblem(display: string, source: string, lc: LineCounter, error: YamlErrorLike): FileProblem {
  const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const pos = error.linePos?.[0];
  const quote = /^Missing closing (["'])quote/.exec(reason)?.[1];
  if (quote && error.pos) {
    // The parser reports an unclosed quote where the file ends; the useful spot is where it opens,
    // which is the last unescaped quote before that point (any later one would have closed it).
    for (let i = Math.min(error.pos[0], source.length) - 1; i >= 0; i--) {
      if (source[i] !== quote) continue;
      if (quote === '"' && source[i - 1] === '\\') continue;
      if (quote === "'" && (source[i - 1] === "'" || source[i + 1] === "'")) continue;
      const at = lc.linePos(i);
      return {
        file: display,
        line: at.line,
        column: at.col,
        reason: `${quote} quote opened here is never closed`,
      };
    }
  }
  if (error.code === 'DUPLICATE_KEY' && error.pos) {
    const key = /^[^:\n]*/
      .exec(source.slice(error.pos[0]))?.[0]
      .trim()
      .replace(/^["']|["']$/g, '');
    if (key)
      return {
        file: display,
        line: pos?.line ?? 0,
        column: pos?.col ?? 0,
        reason: `key "${key}" is given twice in the same map`,
      };
  }
  return { file: display, line: pos?.line ?? 0, column: pos?.col ?? 0, reason };
}

/** Parses one YAML stream, every document, keeping source ranges for in-place edits. */
export function parseYamlFile(
  abs: string,
  display: string,
  source: string,
  mode: number,
): { file: YamlFile; problems: FileProblem[] } {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(source, { ...yamlParseOptions, lineCounter });
  const docs = Array.isArray(parsed) ? parsed : [];
  const problems: FileProblem[] = [];
  // The first error of a file is the real one; the parser's later errors are usually its echoes.
  const first = docs.flatMap((d) => d.errors)[0];
  if (first) problems.push(yamlProblem(display, source, lineCounter, first));
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  return { file: { type: 'yaml', path: abs, display, source, mode, eol, docs, lineCounter }, problems };
}

function parseEnv(
  abs: string,
  display: string,
  source: string,
  mode: number,
): { file: EnvFile; problems: FileProblem[] } {
  const { entries, problems } = parseEnvFile(display, source);
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  return { file: { type: 'env', path: abs, display, source, mode, eol, entries }, problems };
}

function indexObjects(file: YamlFile, skipKinds: boolean): K8sObject[] {
  const out: K8sObject[] = [];
  file.docs.forEach((doc, docIndex) => {
    const root = doc.contents;
    if (!isMap(root)) return;
    const kind = doc.get('kind');
    const name = doc.getIn(['metadata', 'name']);
    if (typeof kind !== 'string' || typeof name !== 'string') return;
    if (skipKinds && kind === 'Kustomization') return;
    const ns = doc.getIn(['metadata', 'namespace']);
    const apiVersion = doc.get('apiVersion');
    out.push({
      ...(typeof apiVersion === 'string' ? { apiVersion } : {}),
      kind,
      name,
      ...(typeof ns === 'string' ? { namespace: ns } : {}),
      file: file.display,
      docIndex,
      line: file.lineCounter.linePos(root.range?.[0] ?? 0).line,
    });
  });
  return out;
}

/**
 * Loads a manifest tree: each directory recursively (`*.yaml`, `*.yml`, `.env` files) and each file
 * given directly (YAML by extension, anything else read as an env file). Every YAML file is parsed
 * as a multi-document stream; if any file cannot be parsed, a {@link ManifestParseError} (exit 2)
 * lists every problem with file, line and column, before anything could be planned or written.
 *
 * @example
 *   const tree = loadManifestTree('k8s/');
 *   const tree2 = loadManifestTree(['k8s/', '.env'], { base: process.cwd() });
 */
export function loadManifestTree(inputs: string | string[], options: LoadOptions = {}): ManifestTree {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const base = path.resolve(options.base ?? process.cwd());
  const { files: found, skipped: skippedAbs } = listManifestFiles(list);
  return loadListed(found, skippedAbs, base);
}

/**
 * The files {@link loadManifestTree} would read for these inputs (same walk, same bounds, same
 * skips), without reading them: callers that only need some files can pick them first and pass
 * those paths to loadManifestTree.
 */
export function listManifestFiles(list: string[]): {
  files: Array<{ abs: string; type: 'yaml' | 'env' }>;
  skipped: Array<{ abs: string; reason: string }>;
} {
  const found: Array<{ abs: string; type: 'yaml' | 'env' }> = [];
  const skippedAbs: Array<{ abs: string; reason: string }> = [];
  for (const input of list) {
    // path.resolve('') is the working directory: an empty path must not read whatever lies there.
    if (input.trim() === '')
      throw new UserError('An empty path was given to --manifests or --dotenv.', {
        suggestion: 'Pass a manifest directory or file (--manifests k8s/), or leave the flag out.',
      });
    const abs = path.resolve(input);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch (error) {
      throw new UserError(`Cannot read ${input}: ${describeError(error)}.`, {
        suggestion: 'Check the path given to --manifests or --dotenv.',
      });
    }
    if (st.isDirectory()) walk(abs, 0, found, skippedAbs);
    else found.push({ abs, type: isYamlName(path.basename(abs)) ? 'yaml' : 'env' });
  }
  return { files: found, skipped: skippedAbs };
}

function loadListed(
  found: Array<{ abs: string; type: 'yaml' | 'env' }>,
  skippedAbs: Array<{ abs: string; reason: string }>,
  base: string,
): ManifestTree {
  const seen = new Set<string>();
  const files: ManifestFile[] = [];
  const problems: FileProblem[] = [];
  for (const f of found) {
    if (seen.has(f.abs)) continue;
    seen.add(f.abs);
    const display = toDisplay(base, f.abs);
    const { source, mode } = readText(f.abs, display);
    const r =
      f.type === 'yaml'
        ? parseYamlFile(f.abs, display, source, mode)
        : parseEnv(f.abs, display, source, mode);
    files.push(r.file);
    problems.push(...r.problems);
  }
  if (problems.length > 0) throw new ManifestParseError(problems);

  // Files named by kustomizations but not found by the walk: generator env files with other
  // names (`envs: [db.properties]`), JSON patches. Outside the tree or missing → undefined.
  const kust = analyseKustomize(files, (abs, type) => {
    if (seen.has(abs)) return files.find((x) => x.path === abs);
    let text: { source: string; mode: number };
    try {
      if (!statSync(abs).isFile()) return undefined;
      text = readText(abs, toDisplay(base, abs));
    } catch {
      return undefined;
    }
    seen.add(abs);
    const display = toDisplay(base, abs);
    const r =
      type === 'env'
        ? parseEnv(abs, display, text.source, text.mode)
        : parseYamlFile(abs, display, text.source, text.mode);
    if (r.problems.length > 0) throw new ManifestParseError(r.problems);
    files.push(r.file);
    return r.file;
  });

  const objects: K8sObject[] = [];
  for (const f of files) {
    if (f.type !== 'yaml' || kust.patchFiles.has(f.path) || isKustomizationFile(f)) continue;
    objects.push(...indexObjects(f, true));
  }
  return {
    base,
    files,
    objects,
    effects: kust.effects,
    generated: kust.generated,
    skipped: skippedAbs.map((s) => ({ file: toDisplay(base, s.abs), reason: s.reason })),
  };
}

/**
 * A tree of YAML texts that are not files (the cluster's live objects for `tune --k8s`), read by
 * the same readers as a manifest directory. `display` names each text in facts and messages; the
 * tree cannot be written (its paths are not files).
 */
export function treeFromTexts(texts: Array<{ display: string; source: string }>): ManifestTree {
  const files: ManifestFile[] = [];
  const problems: FileProblem[] = [];
  for (const t of texts) {
    const r = parseYamlFile(t.display, t.display, t.source, 0o600);
    files.push(r.file);
    problems.push(...r.problems);
  }
  if (problems.length > 0) throw new ManifestParseError(problems);
  return {
    base: '',
    files,
    objects: files.flatMap((f) => indexObjects(f as YamlFile, true)),
    effects: [],
    generated: [],
    skipped: [],
  };
}
