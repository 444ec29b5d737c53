import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/manifests',
);

const temps: string[] = [];

/** A private copy of a fixture folder: write tests never touch the checked-in files. */
export function copyFixture(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `manifests-${name.replace(/\W/g, '-')}-`));
  temps.push(dir);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

export function cleanupTemps(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface FileState {
  sha256: string;
  mode: number;
  ino: number;
  mtimeMs: number;
}

/** Hash, mode, inode and mtime of every file under `dir` (relative paths). */
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

export function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshot(dir)).map(([k, v]) => [k, v.sha256]));
}

/**
 * Compares `actual` with a checked-in golden file under test/fixtures/manifests. With
 * UPDATE_GOLDEN=1 the golden file is (re)written instead; review the git diff before committing.
 */
export function expectGolden(rel: string, actual: string): void {
  const file = path.join(FIXTURES, rel);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(existsSync(file), `golden file ${rel} is missing (run with UPDATE_GOLDEN=1 to create it)`).toBe(
    true,
  );
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
