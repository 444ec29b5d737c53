import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../../src/lib/errors.js';
import {
  applyPlan,
  type FileProblem,
  loadManifestTree,
  ManifestParseError,
  planEdits,
} from '../../../src/manifests/index.js';
import { cleanupTemps, copyFixture, snapshot } from './helpers.js';

afterAll(cleanupTemps);

/** The whole read → plan → apply path a `tune --write` runs; it must stop at the parse. */
function tuneWrite(dir: string): void {
  const tree = loadManifestTree(dir, { base: dir });
  applyPlan(planEdits(tree, [{ op: 'set-pool-params', params: { pool_max_conns: 20 } }]));
}

describe('malformed input → exit 2 with file, line, column and reason; every file byte-identical', () => {
  test.each<[string, FileProblem]>([
    [
      'bad-indent',
      {
        file: 'deployment.yaml',
        line: 14,
        column: 1,
        reason: 'A block sequence may not be used as an implicit map key',
      },
    ],
    [
      'duplicate-key',
      {
        file: 'configmap.yaml',
        line: 8,
        column: 3,
        reason: 'key "WORKER_POOL_SIZE" is given twice in the same map',
      },
    ],
    [
      'tab-indent',
      { file: 'configmap.yaml', line: 6, column: 1, reason: 'Tabs are not allowed as indentation' },
    ],
    [
      'bad-env',
      {
        file: '.env',
        line: 3,
        column: 1,
        reason: 'expected KEY=VALUE, found "this line is not an assignment"',
      },
    ],
    [
      'second-document',
      {
        file: 'stack.yaml',
        line: 11,
        column: 24,
        reason: 'Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ],
    [
      'unclosed-quote',
      { file: 'secret.yaml', line: 6, column: 17, reason: '" quote opened here is never closed' },
    ],
  ])('%s', (name, problem) => {
    const dir = copyFixture(path.join('malformed', name));
    const before = snapshot(dir);
    let caught: unknown;
    try {
      tuneWrite(dir);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ManifestParseError);
    const err = caught as ManifestParseError;
    expect(err.exitCode).toBe(ExitCode.usage);
    expect(err.problems).toEqual([problem]);
    expect(err.message).toBe(
      `Cannot parse a manifest file; no file was changed:\n  ${problem.file}:${problem.line}:${problem.column}: ${problem.reason}`,
    );
    expect(err.suggestion).toMatch(/Fix the YAML at the line shown/);
    expect(snapshot(dir)).toEqual(before); // hashes, modes, inodes, mtimes
  });

  test('every broken file is listed, not only the first', () => {
    const a = copyFixture(path.join('malformed', 'duplicate-key'));
    const b = copyFixture(path.join('malformed', 'tab-indent'));
    try {
      loadManifestTree([a, b], { base: path.dirname(a) });
      expect.unreachable();
    } catch (error) {
      const err = error as ManifestParseError;
      expect(err.problems.map((p) => `${p.file}:${p.line}`)).toEqual([
        `${path.basename(a)}/configmap.yaml:8`,
        `${path.basename(b)}/configmap.yaml:6`,
      ]);
      expect(err.message).toMatch(/^Cannot parse 2 manifest files; no file was changed:/);
    }
  });

  test('a missing path is a user error too', () => {
    expect(() => loadManifestTree('/nonexistent/manifests')).toThrow(/Cannot read \/nonexistent\/manifests/);
  });
});
