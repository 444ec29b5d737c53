import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { type FlagOverride, type LoadedConfig, loadConfig } from '../config/load.js';
import { describeError, ExitCode, isSentinelError } from '../lib/errors.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof SentinelCommand)['baseFlags'] & T['flags']
>;

/** The JSON document every `--json` command prints (the shape of sf-plugins-core's). */
export interface JsonEnvelope<T> {
  status: number;
  result?: T;
  warnings: string[];
  error?: { name: string; code: string; message: string; suggestion?: string; exitCode: number };
}

/**
 * The base of every command: shared flags (config, state dir, port offset, profile), `--json`
 * with `{status, result, warnings}`, warnings on stderr, and errors mapped to one-line messages
 * with the exit codes of docs/design.md "Errors and exit codes". Config is loaded on demand inside
 * run(), never at import.
 */
export abstract class SentinelCommand<T> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.string({
      summary: 'Config file (default: sentinel.config.yaml when present).',
      env: 'SENTINEL_CONFIG',
      helpGroup: 'GLOBAL',
    }),
    'state-dir': Flags.string({
      summary: 'Directory for data, logs and pid files of the local stack (default: .sentinel).',
      helpGroup: 'GLOBAL',
    }),
    'port-offset': Flags.integer({
      summary: 'Add N to every local port, so a second stack runs beside the first.',
      min: 0,
      max: 50_000,
      helpGroup: 'GLOBAL',
    }),
    profile: Flags.option({ options: ['dev', 'staging', 'prod'] as const, helpGroup: 'GLOBAL' })({
      summary: 'Profile whose guide values fill what the config leaves out.',
    }),
  };

  protected warnings: string[] = [];

  /** Records a warning: printed on stderr now, and returned in the JSON envelope. */
  protected warnUser(message: string): void {
    this.warnings.push(message);
    if (!this.jsonEnabled()) process.stderr.write(`Warning: ${message}\n`);
  }

  /** Human output on stderr (progress, notes): stdout is for results only. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${message}\n`);
  }

  /** The output channels, for code outside the command class (src/k8s/commands.ts). */
  protected io() {
    return {
      log: (line: string) => this.log(line),
      note: (line: string) => this.note(line),
      warn: (line: string) => this.warnUser(line),
      json: this.jsonEnabled(),
    };
  }

  /** Loads the effective config from the parsed base flags plus command-specific overrides. */
  protected loadConfig(
    flags: { config?: string; 'state-dir'?: string; 'port-offset'?: number; profile?: string },
    options: { overrides?: FlagOverride[]; persistCredentials?: boolean } = {},
  ): LoadedConfig {
    return loadConfig({
      configFile: flags.config,
      persistCredentials: options.persistCredentials,
      flags: [
        { path: 'stateDir', value: flags['state-dir'], flag: '--state-dir' },
        { path: 'portOffset', value: flags['port-offset'], flag: '--port-offset' },
        { path: 'profile', value: flags.profile, flag: '--profile' },
        ...(options.overrides ?? []),
      ],
    });
  }

  protected override toSuccessJson(result: unknown): unknown {
    return { status: 0, result, warnings: this.warnings };
  }

  protected override toErrorJson(err: unknown): JsonEnvelope<unknown> {
    const e = isSentinelError(err)
      ? {
          name: err.name,
          code: err.code,
          message: err.message,
          suggestion: err.suggestion,
          exitCode: err.exitCode,
        }
      : { name: 'Error', code: 'BUG', message: describeError(err), exitCode: ExitCode.checkFailed };
    const exit = (err as { oclif?: { exit?: number } }).oclif?.exit;
    if (!isSentinelError(err) && typeof exit === 'number')
      Object.assign(e, { code: 'USAGE', exitCode: exit });
    // A failed check may still carry its result (a dry run's diff, a rollout's states).
    const result = (err as { result?: unknown }).result;
    return {
      status: e.exitCode,
      warnings: this.warnings,
      error: e,
      ...(result === undefined ? {} : { result }),
    };
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (isSentinelError(err)) {
      process.exitCode = err.exitCode;
      if (this.jsonEnabled()) {
        this.logJson(this.toErrorJson(err));
        return;
      }
      // Printed here rather than by oclif, which wraps lines at 80 columns and breaks the
      // one-line messages (and the port or path inside them) in two.
      process.stderr.write(`Error: ${err.message}\n${err.suggestion ? `Hint: ${err.suggestion}\n` : ''}`);
      throw new Errors.ExitError(err.exitCode);
    }
    if ((err as { oclif?: unknown }).oclif) return super.catch(err);
    // Anything else is a bug in sentinel-ctl: say so in one line; DEBUG=* shows the stack.
    if (process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = ExitCode.checkFailed;
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err));
      return;
    }
    process.stderr.write(
      `Error: unexpected error: ${describeError(err)}\nHint: this is a bug in sentinel-ctl; re-run with DEBUG=* for the stack trace.\n`,
    );
    throw new Errors.ExitError(ExitCode.checkFailed);
  }
}
