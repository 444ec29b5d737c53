import { existsSync } from 'node:fs';
import type { SentinelConfig } from '../../config/schema.js';
import { EnvironmentError } from '../../lib/errors.js';
import { BwrapDriver } from './bwrap.js';
import { NsjailDriver } from './nsjail.js';
import type { SlotRuntimeOptions } from './slots.js';
import type { DriverName, SandboxDriver } from './types.js';

export const DEFAULT_BWRAP_PATH = '/usr/bin/bwrap';

export type SandboxSetting = SentinelConfig['worker']['sandbox'];

/**
 * Which driver a setting means on this host (pure; `exists` is the probe): nsjail and bwrap as
 * asked, and `auto` = nsjail when its binary is there (the production driver), else bubblewrap.
 */
export function pickDriver(
  setting: SandboxSetting,
  paths: { nsjailPath: string; bwrapPath: string },
  exists: (file: string) => boolean,
): DriverName {
  if (setting !== 'auto') return setting;
  if (exists(paths.nsjailPath)) return 'nsjail';
  if (exists(paths.bwrapPath)) return 'bwrap';
  throw new EnvironmentError(
    `No sandbox is installed: neither nsjail at ${paths.nsjailPath} nor bubblewrap at ${paths.bwrapPath}.`,
    {
      code: 'SANDBOX_MISSING',
      suggestion: 'Run `sentinel-ctl setup` to install bubblewrap, or set worker.nsjailPath (NSJAIL_PATH).',
    },
  );
}

export interface ChooseDriverOptions extends Partial<SlotRuntimeOptions> {
  bwrapPath?: string;
}

/**
 * The driver for config `worker.sandbox` (auto | nsjail | bwrap) with `worker.poolSize` slots.
 * Call `init()` on it before the first job; it reports the cgroup mode and any degradation.
 */
export function chooseDriver(
  worker: Pick<SentinelConfig['worker'], 'sandbox' | 'nsjailPath' | 'poolSize'> &
    Partial<Pick<SentinelConfig['worker'], 'nsjailConfigDir'>>,
  options: ChooseDriverOptions = {},
): SandboxDriver {
  const bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP_PATH;
  const name = pickDriver(worker.sandbox, { nsjailPath: worker.nsjailPath, bwrapPath }, existsSync);
  const runtime = { ...options, slots: options.slots ?? worker.poolSize };
  return name === 'nsjail'
    ? new NsjailDriver({ ...runtime, nsjailPath: worker.nsjailPath, configDir: worker.nsjailConfigDir })
    : new BwrapDriver({ ...runtime, bwrapPath });
}
