import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../helpers/cli.js';
import { headings } from '../../helpers/guides.js';

/** Every file the product and its tests are made of (no generated or installed code). */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|js|yaml|cfg|sh)$/.test(e.name))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)));
}
const files = ['src', 'test', 'bench', 'scripts', 'templates', 'scenarios'].flatMap(sourceFiles);

describe('code and output cite the repository, not documents outside it', () => {
  test.each(files)('%s', (file) => {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    // Spelled in pieces so this file does not match itself.
    const outside = ['DESIGN', 'STYLE'].map((n) => `${n}.md`);
    for (const name of [...outside, ['MACHINE', 'NOTES'].join('-'), ['..', 'shared', ''].join('/')]) {
      expect(text.includes(name), `${file} mentions ${name}`).toBe(false);
    }
  });
});

describe('every docs/design.md section the code cites exists', () => {
  const design = headings(path.join(repoRoot, 'docs/design.md'));
  const cited = new Set<string>();
  for (const file of files) {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    for (const m of text.matchAll(/docs\/design\.md \(?"([^"]+)"/g)) cited.add(m[1]!);
  }
  test('the code cites some sections', () => {
    expect(cited.size).toBeGreaterThan(5);
  });
  test.each([...cited])('"%s"', (section) => {
    expect(design).toContain(section);
  });
});
