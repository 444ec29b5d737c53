import { execa } from 'execa';
import { expect, test } from 'vitest';
import { repoRoot } from '../../helpers/cli.js';

/**
 * The API process's last line of defence (docs/api.md "Limits"): an error that escaped every
 * handler is logged, never silent; a rejected promise leaves it serving, an uncaught exception
 * exits 1 for a supervisor. Run in a child process, since both handlers act on `process`.
 */
test('unhandled rejection: logged, keeps running; uncaught exception: logged, exit 1', async () => {
  const script = `
    import { installProcessHandlers } from './src/api/server.ts';
    installProcessHandlers((m) => process.stderr.write(m + '\\n'));
    Promise.reject(new Error('lost promise'));
    setTimeout(() => {
      process.stderr.write('still running\\n');
      setTimeout(() => { throw new Error('thrown from a timer'); }, 10);
    }, 50);
  `;
  const r = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    reject: false,
  });
  expect(r.exitCode).toBe(1);
  const lines = String(r.stderr).split('\n');
  expect(lines[0]).toBe('api: unhandled promise rejection (still serving): lost promise');
  expect(lines[1]).toBe('still running');
  expect(lines[2]).toBe('api: uncaught exception, exiting with status 1: thrown from a timer');
});
