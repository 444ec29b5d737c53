/**
 * Which manifest files `tune` needs to parse. A GitOps tree holds many applications; YAML parsing is
 * most of the cost of a run, and a file that holds nothing tune reads or writes need not be parsed
 * (a 200-file tree went from ~2 s to well under 1 s). Decided on the raw text, conservatively:
 *
 * - always: kustomizations, ScaledObjects, TriggerAuthentications, HorizontalPodAutoscalers,
 *   PostgreSQL operator clusters, and any document whose kind cannot be read;
 * - any document naming a setting tune reads (WORKER_POOL_SIZE, max_connections, maxmemory…);
 * - Deployments and StatefulSets that may be a role (a name with api or worker, a PostgreSQL,
 *   Redis or RabbitMQ image), and ConfigMaps/Secrets with a Redis, RabbitMQ or PostgreSQL name;
 * - then, to a fixpoint, the ConfigMaps and Secrets those documents name, and the workloads that
 *   name those (a worker whose WORKER_POOL_SIZE comes only through envFrom is found that way).
 *
 * `.env` files are always read. Files left out are counted, so the output can say so.
 */
import { readFileSync } from 'node:fs';
import { IMAGE_PATTERNS } from '../manifests/images.js';
import { listManifestFiles } from '../manifests/index.js';

export interface FileSelection {
  /** Paths to load (absolute), in walk order. */
  files: string[];
  /** YAML files found, and how many of them were left out. */
  yamlFiles: number;
  leftOut: number;
}

const ALWAYS = new Set([
  'Kustomization',
  'Component',
  'ScaledObject',
  'TriggerAuthentication',
  'HorizontalPodAutoscaler',
  'Cluster',
  'postgresql',
]);
const WORKLOADS = new Set(['Deployment', 'StatefulSet']);
const DATA = new Set(['ConfigMap', 'Secret']);
const SETTINGS =
  /\b(WORKER_POOL_SIZE|POOL_SIZE|WORKER_PREFETCH|RABBITMQ_PREFETCH|PREFETCH_COUNT|API_WRITE_TIMEOUT|WRITE_TIMEOUT|API_RATE_LIMIT|max_connections|superuser_reserved_connections|maxmemory|vm_memory_high_watermark|disk_free_limit|consumer_timeout|channel_max)\b/;
const SERVICE_NAMES = /postgres|redis|valkey|rabbit/i;

interface Doc {
  file: number;
  kind?: string;
  name?: string;
  /** Every `name:` value in the document: the objects it may reference. */
  names: Set<string>;
  text: string;
  relevant: boolean;
}

const unquote = (s: string) => s.replace(/^["']|["']$/g, '');

function splitDocs(text: string): string[] {
  return text.split(/^(?:---|\.\.\.)[ \t]*(?:#.*)?$/m);
}

function readDoc(file: number, text: string): Doc | undefined {
  if (text.trim() === '' || /^\s*(#.*\s*)*$/.test(text)) return undefined;
  const kind = /^kind:[ \t]*(["']?[\w.-]+["']?)/m.exec(text)?.[1];
  // metadata.name in block style (the first indented `name:` after `metadata:`) or flow style.
  const name =
    /^metadata:[ \t]*(?:#.*)?\n(?:[ \t]+(?!name:).*\n|[ \t]*\n)*?[ \t]+name:[ \t]*(["']?[\w.-]+["']?)/m.exec(
      text,
    )?.[1] ?? /^metadata:[ \t]*\{[^}]*\bname:[ \t]*(["']?[\w.-]+["']?)/m.exec(text)?.[1];
  const names = new Set<string>();
  for (const m of text.matchAll(/\bname:[ \t]*(["']?[\w.-]+["']?)/g)) names.add(unquote(m[1]!));
  return {
    file,
    ...(kind ? { kind: unquote(kind) } : {}),
    ...(name ? { name: unquote(name) } : {}),
    names,
    text,
    relevant: false,
  };
}

function initiallyRelevant(d: Doc): boolean {
  if (!d.kind || !d.name) return true;
  if (ALWAYS.has(d.kind) || SETTINGS.test(d.text)) return true;
  if (WORKLOADS.has(d.kind)) {
    if (/api|worker/i.test(d.name)) return true;
    for (const m of d.text.matchAll(/\bimage:[ \t]*["']?([^\s"'#]+)/g)) {
      if (IMAGE_PATTERNS.some((re) => re.test(m[1]!))) return true;
    }
    return false;
  }
  if (DATA.has(d.kind)) return SERVICE_NAMES.test(d.name);
  return false;
}

/** Picks the files of `inputs` (directories and files, as for --manifests / --dotenv) tune must parse. */
export function selectManifestFiles(inputs: string[]): FileSelection {
  const { files } = listManifestFiles(inputs);
  const docs: Doc[] = [];
  const keep = new Set<number>();
  let yamlFiles = 0;
  files.forEach((f, i) => {
    if (f.type === 'env') {
      keep.add(i);
      return;
    }
    yamlFiles++;
    let text: string;
    try {
      text = readFileSync(f.abs, 'utf8');
    } catch {
      keep.add(i); // let the loader report what is wrong with it
      return;
    }
    if (/(^|\/)(kustomization\.ya?ml|Kustomization)$/.test(f.abs)) keep.add(i);
    for (const part of splitDocs(text)) {
      const d = readDoc(i, part);
      if (d) docs.push(d);
    }
  });
  for (const d of docs) d.relevant = initiallyRelevant(d);
  // Fixpoint over references: relevant documents name data objects, data objects with settings
  // are named by workloads. Each round marks at least one more document, so it ends.
  for (let changed = true, rounds = 0; changed && rounds <= docs.length; rounds++) {
    changed = false;
    const named = new Set<string>();
    const dataNames = new Set<string>();
    for (const d of docs) {
      if (!d.relevant) continue;
      for (const n of d.names) named.add(n);
      if (d.kind && DATA.has(d.kind) && d.name) dataNames.add(d.name);
    }
    for (const d of docs) {
      if (d.relevant || !d.kind || !d.name) continue;
      const referenced = DATA.has(d.kind) && named.has(d.name);
      const references = WORKLOADS.has(d.kind) && [...d.names].some((n) => dataNames.has(n));
      if (referenced || references) {
        d.relevant = true;
        changed = true;
      }
    }
  }
  for (const d of docs) if (d.relevant) keep.add(d.file);
  const chosen = files.filter((_, i) => keep.has(i)).map((f) => f.abs);
  return { files: chosen, yamlFiles, leftOut: files.length - chosen.length };
}
