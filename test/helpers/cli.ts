import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const binPath = path.join(repoRoot, 'bin/run.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built binary (`npm run build` first), as a user or CI would. The environment is the
 * test's own minus anything that would point the CLI at another stack.
 */
export function cliProcess(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): ResultPromise {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  for (const k of [
    'DATABASE_URL',
    'RABBITMQ_URL',
    'REDIS_URL',
    'SENTINEL_CONFIG',
    'SENTINEL_STATE_DIR',
    'SENTINEL_PORT_OFFSET',
  ]) {
    if (!opts.env?.[k]) delete env[k];
  }
  return execa('node', [binPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...env, NO_COLOR: '1' },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
}

export async function cli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const r = await cliProcess(args, opts);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs with --json and parses stdout; fails the test with stderr when stdout is not JSON. */
export async function cliJson<T = unknown>(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<
  CliResult & {
    json: { status: number; result: T; warnings: string[]; error?: { message: string; code: string } };
  }
> {
  const r = await cli([...args, '--json'], opts);
  try {
    return { ...r, json: JSON.parse(r.stdout) };
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.exitCode}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
}
