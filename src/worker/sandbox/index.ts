/**
 * The sandbox library the worker calls: choose a driver from the config, `init()` it once, then
 * `runJob(job, { driver, slot })` for each execution, one job per slot at a time.
 */
export { BwrapDriver, type BwrapDriverOptions, buildBwrapCommand } from './bwrap.js';
export { type ChooseDriverOptions, chooseDriver, DEFAULT_BWRAP_PATH, pickDriver } from './choose.js';
export { guideLimits, OUTPUT_CAP_BYTES, stepLimits } from './limits.js';
export {
  buildNsjailCommand,
  defaultNsjailLimits,
  NsjailDriver,
  type NsjailDriverOptions,
  type RenderedConfig,
  renderNsjailConfig,
  renderNsjailConfigs,
} from './nsjail.js';
export { type RunJobContext, runJob } from './run-job.js';
export { buildSeccompFilter, deniedSyscalls, kafelPolicy } from './seccomp.js';
export { DEFAULT_UID_BASE, type SlotRuntimeOptions } from './slots.js';
export type {
  DriverInfo,
  DriverName,
  JobInput,
  JobResult,
  JobStatus,
  Language,
  Phase,
  SandboxDriver,
  SandboxStep,
  StepLimits,
  StepOutcome,
} from './types.js';
export { jobStatuses, languages } from './types.js';
