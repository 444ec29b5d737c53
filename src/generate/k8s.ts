/**
 * `generate k8s`: templates/k8s/ rendered with the tuners' values for a profile into a
 * Kustomize-ready directory, every object validated against the Kubernetes and KEDA schemas, then
 * checked with `tune check` (the generator must not produce a contradiction it would report).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/fs.js';
import { runTuneCheck } from '../tune-command/topic-check.js';
import type { Finding } from '../tuners/index.js';
import { stepLimits } from '../worker/sandbox/limits.js';
import { generatedFileOf, renderNsjailConfig } from '../worker/sandbox/nsjail.js';
import type { Phase } from '../worker/sandbox/types.js';
import { type K8sOptions, k8sValues, type TunedValue } from './k8s-values.js';
import { validateObject } from './validate.js';

/** Same depth under the package root from src/generate and dist/generate. */
export const K8S_TEMPLATE_DIR = fileURLToPath(new URL('../../templates/k8s/', import.meta.url));

export interface GenerateK8sOptions extends K8sOptions {
  out: string;
  force: boolean;
}

export interface GenerateK8sResult {
  outDir: string;
  profile: string;
  files: Array<{ file: string; objects: string[]; bytes: number }>;
  /** Objects validated against their schema. */
  validated: number;
  tuned: TunedValue[];
  /** `tune check` over the output: every check that ran passed (warnings listed). */
  check: { passed: string[]; findings: Finding[] };
}

/** Fills `{{key}}`; a missing value is a bug in the template or the values. */
export function renderK8sTemplate(
  name: string,
  template: string,
  values: Record<string, string>,
  used: Set<string>,
): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`templates/k8s/${name}: no value for {{${key}}}`);
    used.add(key);
    return value;
  });
}

/** The rendered files (name → text), nsjail configs included; nothing is written. */
export function renderK8s(
  o: K8sOptions,
  dir = K8S_TEMPLATE_DIR,
): { files: Map<string, string>; tuned: TunedValue[] } {
  const { values, tuned } = k8sValues(o);
  const used = new Set<string>();
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    files.set(name, renderK8sTemplate(name, readFileSync(path.join(dir, name), 'utf8'), values, used));
  }
  // The CLI's own roles, outside kustomization.yaml: a cluster admin applies them once.
  for (const name of readdirSync(path.join(dir, 'rbac')).filter((f) => f.endsWith('.yaml'))) {
    const rel = `rbac/${name}`;
    files.set(rel, renderK8sTemplate(rel, readFileSync(path.join(dir, rel), 'utf8'), values, used));
  }
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`templates/k8s: values never used: ${unused.join(', ')}`);
  for (const phase of Object.keys(generatedFileOf) as Phase[]) {
    files.set(`nsjail/${generatedFileOf[phase]}`, renderNsjailConfig(phase, stepLimits(phase)));
  }
  return { files, tuned };
}

function listOut(out: string): string[] {
  try {
    return readdirSync(out);
  } catch {
    return [];
  }
}

export async function generateK8s(o: GenerateK8sOptions): Promise<GenerateK8sResult> {
  const outDir = path.resolve(o.out);
  const present = listOut(outDir);
  if (present.length > 0 && !o.force) {
    throw new UserError(
      `--out ${o.out} is not empty (${present.length} entries: ${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}).`,
      {
        code: 'OUT_NOT_EMPTY',
        suggestion:
          'Choose an empty or new directory, or pass --force to overwrite the generated files in it.',
      },
    );
  }
  const { files, tuned } = renderK8s(o);

  // Validate everything before writing anything.
  const problems: string[] = [];
  const listed: GenerateK8sResult['files'] = [];
  let validated = 0;
  for (const [name, text] of files) {
    const entry = { file: name, objects: [] as string[], bytes: Buffer.byteLength(text) };
    listed.push(entry);
    if (!name.endsWith('.yaml')) continue;
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        problems.push(`${name}: ${doc.errors[0]!.message}`);
        continue;
      }
      const obj = doc.toJS() as Record<string, unknown>;
      const label = `${String(obj.kind)}/${String((obj.metadata as { name?: string } | undefined)?.name ?? '')}`;
      entry.objects.push(label);
      if (obj.kind === 'Kustomization') {
        const k = obj as { resources?: string[]; configMapGenerator?: Array<{ files?: string[] }> };
        for (const ref of [
          ...(k.resources ?? []),
          ...(k.configMapGenerator ?? []).flatMap((g) => g.files ?? []),
        ]) {
          if (!files.has(ref)) problems.push(`${name}: names ${ref}, which is not generated`);
        }
        continue;
      }
      for (const p of await validateObject(obj)) problems.push(`${name}: ${label}: ${p}`);
      validated++;
    }
  }
  if (problems.length > 0) {
    // The templates are ours: an invalid object is a bug, never the user's input.
    throw new Error(`generated manifests do not validate:\n  ${problems.join('\n  ')}`);
  }

  mkdirSync(path.join(outDir, 'nsjail'), { recursive: true });
  mkdirSync(path.join(outDir, 'rbac'), { recursive: true });
  for (const [name, text] of files) writeFileAtomic(path.join(outDir, name), text, 0o644);

  const check = await runTuneCheck({
    profile: o.profile,
    profileFrom: 'flag',
    flags: {},
    manifests: [outDir],
  });
  if (check.errors > 0) {
    throw new Error(
      `tune check fails on the generated manifests: ${check.findings.map((f) => `${f.id}: ${f.message}`).join('; ')}`,
    );
  }
  return {
    outDir,
    profile: o.profile,
    files: listed,
    validated,
    tuned,
    check: { passed: check.passed, findings: check.findings },
  };
}
