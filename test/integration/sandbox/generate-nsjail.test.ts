import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { chooseDriver } from '../../../src/worker/sandbox/choose.js';
import { NsjailDriver } from '../../../src/worker/sandbox/nsjail.js';
import { cli, cliJson } from '../../helpers/cli.js';
import { expectGolden } from '../../helpers/files.js';

const out = mkdtempSync(path.join(os.tmpdir(), 'sentinel-generate-nsjail-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('sentinel-ctl generate nsjail (built binary)', () => {
  test('writes the three configs with the guide limits, identical to the golden files', async () => {
    const r = await cliJson<{
      outDir: string;
      files: Array<{ phase: string; file: string; memoryMb: number }>;
    }>(['generate', 'nsjail', '--out', out]);
    expect(r.exitCode).toBe(0);
    expect(r.json.result.outDir).toBe(out);
    expect(r.json.result.files.map((f) => [f.phase, path.basename(f.file), f.memoryMb])).toEqual([
      ['python', 'python.cfg', 256],
      ['cpp-compile', 'cpp-compile.cfg', 512],
      ['cpp-run', 'cpp.cfg', 256],
    ]);
    for (const name of ['python.cfg', 'cpp-compile.cfg', 'cpp.cfg']) {
      expectGolden(`nsjail/golden/${name}`, readFileSync(path.join(out, name), 'utf8'));
    }
  });

  test('job limits apply to the program phases only', async () => {
    const r = await cliJson<{ files: Array<{ phase: string; timeLimitS: number; memoryMb: number }> }>([
      'generate',
      'nsjail',
      '--out',
      out,
      '--time-limit-ms',
      '2500',
      '--memory-limit-kb',
      '131072',
      '--force', // the first test's files are there: refused without it (as generate k8s)
    ]);
    expect(r.json.result.files.map((f) => [f.phase, f.timeLimitS, f.memoryMb])).toEqual([
      ['python', 3, 128],
      ['cpp-compile', 10, 512],
      ['cpp-run', 3, 128],
    ]);
    expect(readFileSync(path.join(out, 'python.cfg'), 'utf8')).toContain('\ntime_limit: 3\n');
  });

  test('--no-cgroup-limits: rlimits only, and a run line that needs no cgroup parent', async () => {
    const dir = path.join(out, 'no-cgroups');
    const r = await cliJson<{ cgroupLimits: boolean; runWith: string }>([
      'generate',
      'nsjail',
      '--out',
      dir,
      '--no-cgroup-limits',
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.json.result.cgroupLimits).toBe(false);
    expect(r.json.result.runWith).toMatch(/^nsjail --config FILE -- COMMAND \(no cgroup limits/);
    for (const name of ['python.cfg', 'cpp-compile.cfg', 'cpp.cfg']) {
      const text = readFileSync(path.join(dir, name), 'utf8');
      expect(text).not.toMatch(/^cgroup_/m);
      expect(text).toMatch(/^rlimit_as: \d+$/m);
    }
    const withLimits = await cliJson<{ cgroupLimits: boolean; runWith: string }>([
      'generate',
      'nsjail',
      '--out',
      out,
      '--force', // the earlier tests' files are there
    ]);
    expect(withLimits.json.result.cgroupLimits).toBe(true);
    expect(withLimits.json.result.runWith).not.toContain('no cgroup limits');
  });

  test('a time limit beyond the guide is a usage error (exit 2)', async () => {
    const r = await cli(['generate', 'nsjail', '--out', out, '--time-limit-ms', '20000']);
    expect(r.exitCode).toBe(2);
  });
});

describe('driver choice on this host (no nsjail, bubblewrap installed)', () => {
  test('auto picks bwrap with one slot per pool worker', () => {
    const driver = chooseDriver({ sandbox: 'auto', nsjailPath: '/nonexistent/nsjail', poolSize: 3 });
    expect([driver.name, driver.slots]).toEqual(['bwrap', 3]);
  });

  test('nsjail asked for but missing fails at init with the path and what to do', async () => {
    const driver = new NsjailDriver({ slots: 1, nsjailPath: '/nonexistent/nsjail' });
    await expect(driver.init()).rejects.toMatchObject({
      exitCode: 3,
      message: 'nsjail is not installed at /nonexistent/nsjail.',
      suggestion:
        'Set worker.nsjailPath (NSJAIL_PATH), or use worker.sandbox: bwrap (installed by `sentinel-ctl setup`).',
    });
  });
});
