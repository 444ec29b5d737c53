import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildReaper } from '../../../src/worker/sandbox/reaper.js';

// The nsjail driver's init (README "Sandbox drivers"), compiled with this host's gcc/g++ and run
// directly: CI has no nsjail, but the init's own behaviour (statuses, forwarding, reaping) is the
// same inside a jail. The programs it runs here are harmless shell one-liners.
const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-reaper-'));
let init = '';
beforeAll(async () => {
  init = await buildReaper(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runInit(
  argv: string[],
  after?: (pid: number) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(init, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('ready') && child.pid !== undefined) after?.(child.pid);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sentinel-init (the nsjail driver’s PID 1)', () => {
  test('is built once per source: a second build reuses the binary', async () => {
    expect(statSync(init).mode & 0o777).toBe(0o755);
    expect(await buildReaper(dir)).toBe(init);
  });

  test.each([
    ['an exit code', ['/bin/sh', '-c', 'exit 3'], 3],
    ['success', ['/bin/true'], 0],
    ['SIGTERM to itself → 143', ['/bin/sh', '-c', 'kill -TERM $$'], 143],
    ['SIGKILL to itself → 137', ['/bin/sh', '-c', 'kill -KILL $$'], 137],
    ['abort (SIGABRT) → 134', ['/bin/sh', '-c', 'kill -ABRT $$'], 134],
    ['a missing program → 127', ['/nonexistent/program'], 127],
  ])('reports %s as the shell would', async (_what, argv, code) => {
    expect((await runInit(argv)).code).toBe(code);
  });

  test('forwards SIGTERM to the program, which can trap it', async () => {
    const r = await runInit(
      [
        '/bin/sh',
        '-c',
        'trap "kill $!; echo got-term; exit 7" TERM; sleep 30 >/dev/null 2>&1 & echo ready; wait',
      ],
      (pid) => process.kill(pid, 'SIGTERM'),
    );
    expect(r.stdout).toContain('got-term');
    expect(r.code).toBe(7);
  });

  test('reaps orphans: 100 double-forked children leave no zombie behind the program', async () => {
    const marker = path.join(dir, 'zombies');
    const r = await runInit([
      '/bin/sh',
      '-c',
      `i=0; while [ $i -lt 100 ]; do (sh -c 'exit 0' &) ; i=$((i+1)); done; sleep 0.5; ps -o stat= --ppid $PPID | grep -c Z > ${marker}; cat ${marker}`,
    ]);
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
    expect(r.stdout.trim()).toBe('0');
  });

  test('refuses a relative program path (the jail has no PATH search)', async () => {
    const r = await runInit(['sh', '-c', 'true']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('usage: sentinel-init /ABSOLUTE/PROGRAM');
  });
});
