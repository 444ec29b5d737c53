/**
 * planEdits: runs every edit through its handler, then renders each changed file and its unified
 * diff with secrets masked. Nothing is written here (applyPlan in apply.ts does that).
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff';
import { maskPasswords } from './conn-string.js';
import { type Handler, handlers } from './edit-handlers.js';
import type { ManifestEdit, ManifestPlan, PlannedFile, PlanOptions } from './edits.js';
import { type FileProblem, ManifestRefusal, RefusalSignal } from './errors.js';
import { maskEnvText, maskYamlText } from './mask.js';
import { Planner } from './planner.js';
import type { ManifestTree } from './tree.js';
import type { YamlFileEditor } from './yaml-edit.js';

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
    // The diff of the real bytes: what `git apply` needs. Masked when it differs from it.
    const rawDiff = formatPatch(
      structuredPatch(`a/${f.display}`, `b/${f.display}`, f.source, after, undefined, undefined, {
        context: options.context ?? 3,
      }),
      FILE_HEADERS_ONLY,
    );
    planned.masked = rawDiff !== planned.diff;
    // Real bytes stay off JSON.stringify / console.log, so a `--json` plan cannot leak a secret.
    Object.defineProperty(planned, 'before', { value: f.source, enumerable: false });
    Object.defineProperty(planned, 'after', { value: after, enumerable: false });
    Object.defineProperty(planned, 'rawDiff', { value: rawDiff, enumerable: false });
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
