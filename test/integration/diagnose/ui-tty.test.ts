/**
 * The diagnose UI of the built binary in a real pseudo-terminal (Python's pty module, which every
 * machine that runs the worker has): `q` quits with exit 0 even with critical findings, the UI
 * fills the terminal it is given (80×24 and 200×50), and NO_COLOR leaves no colour codes.
 * The stack is one that does not run (nothing listens at this offset): every component is down.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { binPath, repoRoot } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-diagnose-tty-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const OFFSET = testOffset('cliRest');

/** Runs argv in a pty of cols×rows, presses q once `ready` was printed, returns exit code and output. */
const PTY_RUN = `
import os, pty, sys, time, select, struct, fcntl, termios, json
cols, rows, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[4], sys.argv[4:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out, sent = b'', False
while True:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and ready in out:
        time.sleep(0.5)
        os.write(fd, b'q')
        sent = True
_, status = os.waitpid(pid, 0)
print(json.dumps({'exit': os.waitstatus_to_exitcode(status), 'out': out.decode('utf8', 'replace')}))
`;
const script = path.join(work, 'pty-run.py');
writeFileSync(script, PTY_RUN);

/**
 * The environment of a person at a terminal: without CI's variables, under which ink draws only the
 * final frame (is-in-ci), so the UI would never show FINDINGS for the script to answer with q.
 */
function personEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && e[0] !== 'CI' && e[0] !== 'CONTINUOUS_INTEGRATION' && !e[0].startsWith('CI_'),
    ),
  );
}

async function ui(cols: number, rows: number, env: Record<string, string> = {}) {
  const r = await execa(
    '/usr/bin/python3',
    [
      script,
      String(cols),
      String(rows),
      'FINDINGS',
      process.execPath,
      binPath,
      'diagnose',
      '--state-dir',
      path.join(work, 'state'),
      '--port-offset',
      String(OFFSET),
      '--timeout',
      '500ms',
    ],
    {
      cwd: repoRoot,
      env: { ...personEnv(), ...env, TERM: 'xterm-256color' },
      extendEnv: false,
      reject: false,
    },
  );
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const { exit, out } = JSON.parse(String(r.stdout)) as { exit: number; out: string };
  // The last screen drawn, without cursor movement and colours.
  const plain = out.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  return { exit, out, plain };
}

const colours = (s: string) => (s.match(/\u001b\[[0-9;]*m/g) ?? []).length;

describe('diagnose UI in a terminal', () => {
  test('80×24: q quits with exit 0 although every component is down; nothing wider than 80', async () => {
    const { exit, plain, out } = await ui(80, 24, { NO_COLOR: '' });
    expect(exit).toBe(0);
    expect(plain).toMatch(/CRIT postgres +postgres unreachable/);
    const lastScreen = plain.slice(plain.lastIndexOf('sentinel-ctl diagnose'));
    expect(lastScreen.split(/\r?\n/).every((l) => [...l].length <= 80)).toBe(true);
    expect(colours(out)).toBeGreaterThan(0);
  });

  test('200×50: the footer is whole and the screen is 200 wide; NO_COLOR: no colour codes', async () => {
    const { exit, plain, out } = await ui(200, 50, { NO_COLOR: '1' });
    expect(exit).toBe(0);
    expect(colours(out)).toBe(0);
    expect(plain).toContain('? help · q quit');
    const lastScreen = plain.slice(plain.lastIndexOf('sentinel-ctl diagnose'));
    expect(Math.max(...lastScreen.split(/\r?\n/).map((l) => [...l].length))).toBeGreaterThan(80);
  });
});
