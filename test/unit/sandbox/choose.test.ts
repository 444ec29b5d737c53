import { describe, expect, test } from 'vitest';
import { pickDriver } from '../../../src/worker/sandbox/choose.js';

const paths = { nsjailPath: '/usr/bin/nsjail', bwrapPath: '/usr/bin/bwrap' };
const host =
  (...present: string[]) =>
  (file: string) =>
    present.includes(file);

describe('pickDriver (config worker.sandbox)', () => {
  test.each([
    ['auto', host('/usr/bin/nsjail', '/usr/bin/bwrap'), 'nsjail'],
    ['auto', host('/usr/bin/bwrap'), 'bwrap'],
    ['auto', host('/usr/bin/nsjail'), 'nsjail'],
    ['nsjail', host('/usr/bin/bwrap'), 'nsjail'],
    ['bwrap', host('/usr/bin/nsjail', '/usr/bin/bwrap'), 'bwrap'],
  ] as const)('%s on a host with %#', (setting, exists, expected) => {
    expect(pickDriver(setting, paths, exists)).toBe(expected);
  });

  test('auto with neither installed points at setup', () => {
    let error: unknown;
    try {
      pickDriver('auto', paths, host());
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      name: 'EnvironmentError',
      exitCode: 3,
      code: 'SANDBOX_MISSING',
      message: 'No sandbox is installed: neither nsjail at /usr/bin/nsjail nor bubblewrap at /usr/bin/bwrap.',
      suggestion: 'Run `sentinel-ctl setup` to install bubblewrap, or set worker.nsjailPath (NSJAIL_PATH).',
    });
  });
});
