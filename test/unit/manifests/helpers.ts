import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES_ROOT } from '../../helpers/files.js';

export { snapshot } from '../../helpers/files.js';

export const FIXTURES = path.join(FIXTURES_ROOT, 'manifests');

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
