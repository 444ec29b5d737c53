import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { SentinelConfig } from '../../src/config/schema.js';
import { type Endpoints, endpoints } from '../../src/services/endpoints.js';
import { cli, cliJson } from './cli.js';

/**
 * A real local stack for one test file: its own state dir, config file and port offset, started
 * with the product's own `up` and stopped with `down`.
 */
export interface TestStack {
  dir: string;
  args: string[];
  env: Record<string, string>;
  config: SentinelConfig;
  urls: Endpoints;
  stop(): Promise<void>;
}

/**
 * A stack's directory, config file and flags, without starting it: for a test that starts `up`
 * its own way (under a supervisor's descriptors, say). `startStack` is this plus `up`.
 */
export function prepareStack(opts: { offset: number; yaml?: string }): TestStack {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-it-'));
  // As a checkout would be: the postgres account must be able to enter the state dir.
  chmodSync(dir, 0o755);
  const configFile = path.join(dir, 'sentinel.config.yaml');
  writeFileSync(configFile, opts.yaml ?? '{}\n');
  const stateDir = path.join(dir, 'state');
  const args = ['--config', configFile, '--state-dir', stateDir, '--port-offset', String(opts.offset)];
  // Loaded on first use, after `up` has written the state dir's credentials.
  let config: SentinelConfig | undefined;
  const load = (): SentinelConfig =>
    (config ??= loadConfig({
      configFile,
      env: {},
      cwd: dir,
      flags: [
        { path: 'stateDir', value: stateDir, flag: '--state-dir' },
        { path: 'portOffset', value: opts.offset, flag: '--port-offset' },
      ],
    }).config);
  return {
    dir,
    args,
    env: {},
    get config() {
      return load();
    },
    get urls() {
      return endpoints(load());
    },
    async stop() {
      await cli(['down', ...args]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startStack(opts: {
  offset: number;
  yaml?: string;
  services?: string[];
}): Promise<TestStack> {
  const stack = prepareStack(opts);
  const r = await cliJson([
    'up',
    ...stack.args,
    ...(opts.services ? ['--services', opts.services.join(',')] : []),
  ]);
  if (r.exitCode !== 0) {
    await stack.stop();
    throw new Error(`up failed (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
  return stack;
}

/** The passwords `up` generated for the stack (credentials.json in its state dir). */
export function stackSecrets(stack: TestStack): { postgres: string; rabbitmq: string; redis: string } {
  return JSON.parse(readFileSync(path.join(stack.config.stateDir, 'credentials.json'), 'utf8'));
}

export function servicePid(stack: TestStack, service: string): number {
  const record = JSON.parse(readFileSync(path.join(stack.config.stateDir, 'run', `${service}.json`), 'utf8'));
  return record.processes.at(-1).pid;
}
