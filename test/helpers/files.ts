import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { repoRoot } from './cli.js';

/** test/fixtures, where every checked-in input and expected output lives. */
export const FIXTURES_ROOT = path.join(repoRoot, 'test/fixtures');

export interface FileState {
  sha256: string;
  mode: number;
  ino: number;
  mtimeMs: number;
}

/**
 * Hash, mode, inode and mtime of every file under `dir` (relative paths), so `toEqual` on two
 * snapshots proves a file was neither changed nor rewritten with the same bytes.
 */
export function snapshot(dir: string): Record<string, FileState> {
  const out: Record<string, FileState> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else {
        const st = statSync(abs);
        out[path.relative(dir, abs)] = {
          sha256: createHash('sha256').update(readFileSync(abs)).digest('hex'),
          mode: st.mode & 0o7777,
          ino: st.ino,
          mtimeMs: st.mtimeMs,
        };
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Compares `actual` with a checked-in golden file (a path under test/fixtures). With
 * UPDATE_GOLDEN=1 the golden file is (re)written instead; review the git diff before committing.
 */
export function expectGolden(rel: string, actual: string): void {
  const file = path.join(FIXTURES_ROOT, rel);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(existsSync(file), `golden file ${rel} is missing (run with UPDATE_GOLDEN=1 to create it)`).toBe(
    true,
  );
  expect(actual, `differs from test/fixtures/${rel}`).toBe(readFileSync(file, 'utf8'));
}
