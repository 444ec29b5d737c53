import type { TuneWrite } from './types.js';

/** `from → to` of one change, or just "changed" for a multi-line value (a whole conf text). */
function changeText(c: TuneWrite['changes'][number]): string {
  if (c.to.includes('\n') || c.from?.includes('\n')) return 'changed';
  return c.from === undefined ? `added ${c.to}` : `${c.from} → ${c.to}`;
}

/**
 * The whole diff of a write, each file preceded by `#` lines that say which values change and why
 * (the tuner's formula with its inputs, once per group of values it explains): a reviewer reads
 * the reason next to the hunk. Text before a file's `---` header is ignored by patch and git apply.
 */
export function diffText(w: TuneWrite): string {
  return w.files
    .map((f) => {
      const lines: string[] = [];
      const changes = w.changes.filter((c) => c.file === f.file);
      changes.forEach((c, i) => {
        lines.push(`# ${f.file}:${c.line} ${c.field}: ${changeText(c)}`);
        const next = changes[i + 1];
        if (c.reason && next?.reason !== c.reason) lines.push(`#   why: ${c.reason}`);
      });
      if (f.masked)
        lines.push(
          `# MASKED: secret values below are shown as ****; this diff does not apply with git apply (--show-secrets prints them)`,
        );
      const diff = f.diff.endsWith('\n') ? f.diff : `${f.diff}\n`;
      return lines.map((l) => `${l}\n`).join('') + diff;
    })
    .join('');
}
