import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BwrapDriver } from '../../../src/worker/sandbox/bwrap.js';
import { runJob } from '../../../src/worker/sandbox/run-job.js';
import type { DriverInfo, JobInput } from '../../../src/worker/sandbox/types.js';
import { FORK_BOMB_PY } from './programs.js';

// Hosts where slot cgroups cannot be created (no delegation, read-only cgroupfs): the sandbox runs
// on rlimits alone. Own uid range, so its process count is not shared with the other test file.
const driver = new BwrapDriver({ slots: 1, cgroups: 'off', uidBase: 1_910_000_000 });
let info: DriverInfo;
beforeAll(async () => {
  info = await driver.init();
});
afterAll(() => driver.close());

const py = (source: string, timeLimitMs = 5000): JobInput => ({
  language: 'python',
  source,
  stdin: '',
  timeLimitMs,
  memoryLimitKb: 262_144,
});

describe('bwrap without cgroups', () => {
  test('says so', () => {
    expect(info).toEqual({
      name: 'bwrap',
      cgroups: 'none',
      warnings: ['cgroups are switched off: memory, process count and CPU are held by rlimits only'],
    });
  });

  test('still runs programs, without a memory figure', async () => {
    expect(await runJob(py('print(6 * 7)'), { driver, slot: 0 })).toMatchObject({
      status: 'SUCCESS',
      stdout: '42\n',
      memoryUsedKb: 0,
    });
  });

  test('a fork bomb stops at RLIMIT_NPROC of the slot’s own uid', async () => {
    const r = await runJob(py(FORK_BOMB_PY, 2000), { driver, slot: 0 });
    expect(r.status).toBe('TIMEOUT');
    const [forks, errno] = r.stdout.trim().split(' ');
    expect(errno).toBe('EAGAIN');
    expect(Number(forks)).toBeLessThanOrEqual(61);
  });

  test('the address-space limit still turns a 1 GB allocation into MEMORY_LIMIT_EXCEEDED', async () => {
    expect((await runJob(py('x = bytearray(1024 ** 3)'), { driver, slot: 0 })).status).toBe(
      'MEMORY_LIMIT_EXCEEDED',
    );
  });
});
