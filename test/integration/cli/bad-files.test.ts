/**
 * Every bad file argument, for every command that reads one (issue 13): missing, empty path,
 * empty file, a directory, not JSON/YAML, the wrong shape. Each is one `Error:` line and one
 * `Hint:` line, exit 2, with and without --json; never "unexpected error". Built binary, no stack.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cli } from '../../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bad-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const f = (name: string, text: string) => {
  const p = path.join(work, name);
  writeFileSync(p, text);
  return p;
};
const missing = path.join(work, 'missing.json');
const empty = f('empty.json', '');
const notJson = f('not.json', 'nope\n{');
const wrongShape = f('shape.json', '{"a": 1}');
const array = f('array.json', '[1, 2]');
const partial = f('partial.json', '{"format": "sentinel-ctl-bench/2", "data": {"main": {}}}');
const badYaml = f('bad.yaml', 'a: [\n');
const dir = path.join(work, 'adir');
mkdirSync(dir);
const dead = ['--api-url', 'http://127.0.0.1:1'];

const CASES: Array<[string, string[], RegExp]> = [
  ['compare, empty paths', ['bench', 'compare', '', ''], /OLD \(""\) holds an empty path/],
  ['compare, a trailing comma', ['bench', 'compare', `${empty},`, empty], /holds an empty path/],
  ['compare, missing', ['bench', 'compare', missing, missing], /missing\.json does not exist/],
  ['compare, empty file', ['bench', 'compare', empty, empty], /empty\.json is empty/],
  ['compare, not JSON', ['bench', 'compare', notJson, notJson], /not\.json is not JSON/],
  ['compare, wrong shape', ['bench', 'compare', wrongShape, wrongShape], /is not a bench JSON report/],
  ['compare, an array', ['bench', 'compare', array, array], /is not a bench JSON report/],
  ['compare, incomplete', ['bench', 'compare', partial, partial], /incomplete bench JSON report/],
  ['compare, a directory', ['bench', 'compare', dir, dir], /adir is a directory/],
  ['merge, empty paths', ['bench', 'merge', '', ''], /empty path/],
  ['merge, missing', ['bench', 'merge', missing, missing], /does not exist/],
  ['merge, not JSON', ['bench', 'merge', notJson, notJson], /is not JSON/],
  ['merge, incomplete', ['bench', 'merge', partial, partial], /incomplete bench JSON report/],
  ['bench --scenario, missing', ['bench', '--scenario', missing], /does not exist/],
  ['bench --scenario, a directory', ['bench', '--scenario', dir], /is a directory/],
  ['bench --scenario, bad YAML', ['bench', '--scenario', badYaml], /not valid YAML/],
  ['submit, missing', ['submit', missing, '--language', 'python', ...dead], /does not exist/],
  ['submit, empty path', ['submit', '', ...dead], /empty path/],
  ['submit, a directory', ['submit', dir, '--language', 'python', ...dead], /is a directory/],
  ['submit, empty file', ['submit', empty, '--language', 'python', ...dead], /is empty/],
  ['config --config, missing', ['config', 'show', '--config', missing], /does not exist/],
  ['config --config, a directory', ['config', 'show', '--config', dir], /is a directory/],
  ['config --config, bad YAML', ['config', 'show', '--config', badYaml], /invalid YAML/],
  ['tune --manifests, missing', ['tune', 'pool', '--manifests', missing], /Cannot read .*missing\.json/],
  ['tune --manifests, empty path', ['tune', 'pool', '--manifests', ''], /empty path/],
  ['tune --manifests, bad YAML', ['tune', 'check', '--manifests', badYaml], /Cannot parse a manifest file/],
  ['tune --dotenv, missing', ['tune', 'pool', '--dotenv', missing], /missing\.json does not exist/],
  ['tune --dotenv, a directory', ['tune', 'pool', '--dotenv', dir], /adir is a directory/],
];

describe('bad file arguments: one line, a hint, exit 2', () => {
  test.each(CASES)('%s', async (_name, args, message) => {
    // Wide enough that no line is wrapped: the error is one line, the hint another.
    const r = await cli(args, { env: { COLUMNS: '1000' } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(/unexpected error|this is a bug/);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    const error = lines.findIndex((l) => l.startsWith('Error: '));
    expect(error, r.stderr).toBeGreaterThanOrEqual(0);
    expect(lines[error]).toMatch(message);
    // A parse error lists the file and line under the message; everything else is one line.
    const hint = lines.findIndex((l) => l.startsWith('Hint: '));
    expect(hint, r.stderr).toBeGreaterThan(error);
    if (!/Cannot parse/.test(lines[error]!)) expect(hint).toBe(error + 1);
    const json = await cli([...args, '--json']);
    expect(json.exitCode).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect(doc.status).toBe(2);
    expect(doc.error.message).toMatch(message);
    expect(doc.error.suggestion).toBeTruthy();
  });
});

describe('tune --env-file, the old name of --dotenv', () => {
  test('still reads the file, with a warning that names the new flag (text and --json)', async () => {
    const env = f('pool.env', 'WORKER_POOL_SIZE=7\n');
    const r = await cli(['tune', 'pool', '--env-file', env, '--cpus', '4', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.warnings.join('\n')).toMatch(/--env-file is deprecated: use --dotenv/);
    const pool = doc.result.facts.find((x: { name: string }) => x.name === 'worker.poolSize');
    expect(pool).toMatchObject({ value: '7', from: 'manifest' });
    expect(pool.detail).toMatch(/pool\.env WORKER_POOL_SIZE/);
    const text = await cli(['tune', 'pool', '--env-file', env, '--cpus', '4'], { env: { COLUMNS: '1000' } });
    expect(text.stderr).toMatch(/Warning: --env-file is deprecated: use --dotenv/);
    // The new name reads the same fact without the warning.
    const now = await cli(['tune', 'pool', '--dotenv', env, '--cpus', '4', '--json']);
    const again = JSON.parse(now.stdout);
    expect(again.warnings.join('\n')).not.toMatch(/deprecated/);
    expect(again.result.facts.find((x: { name: string }) => x.name === 'worker.poolSize').value).toBe('7');
  });
});
