/** applyPlan: writes a planned set of files atomically, refusing if any changed since it was read. */
import { readFileSync, realpathSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/fs.js';
import type { ManifestPlan } from './edits.js';

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
