import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { repoRoot } from './cli.js';

/**
 * The guide sections the tool may cite, kept in the repository (titles only): the guides themselves
 * are not part of it, and a test must pass in any clone.
 */
const guideSections: Record<string, string[]> = JSON.parse(
  readFileSync(path.join(repoRoot, 'test/fixtures/guide-sections.json'), 'utf8'),
);

/** Headings of a markdown file, without the #s. */
export function headings(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, '').trim());
}

/**
 * Asserts that a citation "A > B > C" names a section that exists: for the project's own docs
 * (`docs/...`) headings of that file in that order; for a guide, one of the heading paths in
 * test/fixtures/guide-sections.json, each part the beginning of the title at that level.
 */
export function expectSectionExists(source: { guide: string; section: string }): void {
  const parts = source.section.split(' > ');
  if (source.guide.startsWith('docs/')) {
    const hs = headings(path.join(repoRoot, source.guide));
    let from = 0;
    for (const part of parts) {
      const at = hs.findIndex((h, i) => i >= from && h.startsWith(part));
      expect(at, `"${part}" of "${source.section}" in ${source.guide}`).toBeGreaterThanOrEqual(0);
      from = at + 1;
    }
    return;
  }
  const known = guideSections[source.guide];
  expect(known, `${source.guide} in test/fixtures/guide-sections.json`).toBeDefined();
  const match = known!.find((p) => {
    const titles = p.split(' > ');
    return titles.length === parts.length && titles.every((t, i) => t.startsWith(parts[i]!));
  });
  expect(match, `"${source.section}" of ${source.guide} in test/fixtures/guide-sections.json`).toBeDefined();
}
