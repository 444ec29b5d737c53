import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** ../shared beside the checkout (CI keeps it there): DESIGN.md and the guides in seeds/. */
export const sharedDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');

/** The repository's root. */
const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Headings of a markdown file, without the #s. */
export function headings(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, '').trim());
}

/** Asserts that "A > B > C" are headings of the guide, in that order (a citation that exists). */
export function expectSectionExists(source: { guide: string; section: string }): void {
  const file = source.guide.startsWith('docs/')
    ? path.join(repoDir, source.guide) // the project's own docs, in the repository
    : source.guide === 'DESIGN.md'
      ? path.join(sharedDir, 'DESIGN.md')
      : path.join(sharedDir, 'seeds', source.guide);
  const hs = headings(file);
  let from = 0;
  for (const part of source.section.split(' > ')) {
    const at = hs.findIndex((h, i) => i >= from && h.startsWith(part));
    expect(at, `"${part}" of "${source.section}" in ${source.guide}`).toBeGreaterThanOrEqual(0);
    from = at + 1;
  }
}
