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

export async function startStack(opts: {
  offset: number;
  yaml?: string;
  services?: string[];
}): Promise<TestStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-it-'));
  // As a checkout would be: the postgres account must be able to enter the state dir.
  chmodSync(dir, 0o755);
  const configFile = path.join(dir, 'sentinel.config.yaml');
  writeFileSync(configFile, opts.yaml ?? '{}\n');
  const args = [
    '--config',
    configFile,
    '--state-dir',
    path.join(dir, 'state'),
    '--port-offset',
    String(opts.offset),
  ];
  const r = await cliJson(['up', ...args, ...(opts.services ? ['--services', opts.services.join(',')] : [])]);
  if (r.exitCode !== 0) throw new Error(`up failed (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  const { config } = loadConfig({
    configFile,
    env: {},
    cwd: dir,
    flags: [
      { path: 'stateDir', value: path.join(dir, 'state'), flag: '--state-dir' },
      { path: 'portOffset', value: opts.offset, flag: '--port-offset' },
    ],
  });
  return {
    dir,
    args,
    env: {},
    config,
    urls: endpoints(config),
    async stop() {
      await cli(['down', ...args]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function servicePid(stack: TestStack, service: string): number {
  const record = JSON.parse(readFileSync(path.join(stack.config.stateDir, 'run', `${service}.json`), 'utf8'));
  return record.processes.at(-1).pid;
}
