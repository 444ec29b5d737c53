import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { sources } from '../../../src/tuners/types.js';
import { expectSectionExists } from '../../helpers/guides.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tunersDir = path.resolve(here, '../../../src/tuners');
const files = readdirSync(tunersDir).filter((f) => f.endsWith('.ts'));

/** Every module specifier a file imports. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b(?:[^'"]*?from)?\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

describe('src/tuners has no I/O', () => {
  // Only the project's own pure modules: the tuners themselves, the error types and the config types.
  const allowed = (spec: string) =>
    spec.startsWith('./') || spec === '../lib/errors.js' || spec === '../config/schema.js';

  test.each(files)('%s imports nothing but pure modules', (file) => {
    const text = readFileSync(path.join(tunersDir, file), 'utf8');
    expect(importsOf(text).filter((s) => !allowed(s))).toEqual([]);
    expect(text).not.toMatch(/\b(process\.|require\(|fetch\(|import\()/);
  });
});

describe('every cited section exists in its guide, in order', () => {
  test.each(Object.entries(sources))('%s', (_key, source) => {
    expectSectionExists(source);
  });
});
