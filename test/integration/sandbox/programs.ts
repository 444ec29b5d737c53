/**
 * Programs the sandbox tests run more than once. Each prints what the test asserts on.
 */

/** Forks until fork fails, then prints `<forks> <errno name>`; every child waits to be killed. */
export const FORK_BOMB_PY = [
  'import os, errno, time',
  'n = 0',
  'while True:',
  '    try:',
  '        pid = os.fork()',
  '    except OSError as e:',
  '        print(n, errno.errorcode[e.errno], flush=True)',
  '        break',
  '    if pid == 0:',
  '        time.sleep(60)',
  '        os._exit(0)',
  '    n += 1',
  'time.sleep(60)',
].join('\n');
