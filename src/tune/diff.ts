import type { TuneWrite } from './types.js';

/** `from → to` of one change, or just "changed" for a multi-line value (a whole conf text). */
function changeText(c: TuneWrite['changes'][number]): string {
  if (c.to.includes('\n') || c.from?.includes('\n')) return 'changed';
  return c.from === undefined ? `added ${c.to}` : `${c.from} → ${c.to}`;
}

/**
 * The whole diff of a write, each file preceded by `#` lines that say which value changes and why
 * (the tuner's formula with its inputs): a reviewer reads the reason next to the hunk. Text before a
 * file's `---` header is ignored by patch and git apply.
 */
export function diffText(w: TuneWrite): string {
  return w.files
    .map((f) => {
      const notes = w.changes
        .filter((c) => c.file === f.file)
        .map(
          (c) => `# ${f.file}:${c.line} ${c.field}: ${changeText(c)}${c.reason ? ` — ${c.reason}` : ''}\n`,
        );
      return notes.join('') + f.diff;
    })
    .join('');
}
