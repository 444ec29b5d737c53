import { Command, Errors, Flags, type Interfaces } from '@oclif/core';

// biome-ignore lint/suspicious/noExplicitAny: oclif's own FlagOutput / ArgOutput (not exported)
type FlagOutput = { [name: string]: any };
// biome-ignore lint/suspicious/noExplicitAny: as above
type ArgOutput = { [name: string]: any };

import type { FlagOverride, LoadedConfig } from '../config/load.js';
import { describeError, ExitCode, isSentinelError } from '../lib/errors.js';
import { carryFlags, nextCommand } from '../lib/next-command.js';
import { disableColor, setWide, wrapToTerminal } from '../lib/terminal.js';
import { usageError } from '../lib/usage-error.js';

/**
 * The config loader (zod, yaml), loaded in `init` unless a command says it may not need it
 * (`static loadsConfig = false`, e.g. bench with a URL, whose start-up CPU counts in its figures);
 * such a command calls `ensureConfigLoader()` before `loadConfig`.
 */
let configLoader: typeof import('../config/load.js') | undefined;

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
 * The base of every command: shared flags (config, state dir, port offset, profile, output width,
 * colour), `--json` with `{status, result, warnings}`, warnings and notes on stderr, and errors
 * mapped to one line plus a hint with the exit codes of docs/design.md "Errors and exit codes": 0 ok, 1 a check
 * failed, 2 bad usage or input, 3 the environment lacks something, 130 interrupted. Config is
 * loaded on demand inside run(), never at import.
 */
// biome-ignore lint/correctness/noUnusedVariables: T names the command's result type for readers and --json typings
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
    output: Flags.option({ options: ['wide'] as const, char: 'o', helpGroup: 'GLOBAL' })({
      summary: 'wide: keep every table cell on one line instead of fitting the terminal.',
    }),
    color: Flags.boolean({
      allowNo: true,
      default: true,
      summary: 'Colour where a view uses it (--no-color, or NO_COLOR set, turns it off).',
      helpGroup: 'GLOBAL',
    }),
  };

  protected warnings: string[] = [];
  /** The flags as parsed, for the next commands the output suggests. */
  private parsedFlags: Record<string, unknown> = {};

  override async init(): Promise<void> {
    // Applied before parsing, so even a usage error's output respects them.
    if (this.argv.includes('--no-color') || process.env.NO_COLOR) disableColor();
    const i = this.argv.findIndex((a) => a === '-o' || a === '--output');
    setWide(
      this.argv[i + 1] === 'wide' ||
        this.argv.some((a) => a === '-owide' || a === '--output=wide' || a === '-o=wide'),
    );
    await super.init();
    if ((this.constructor as { loadsConfig?: boolean }).loadsConfig !== false)
      await this.ensureConfigLoader();
  }

  protected async ensureConfigLoader(): Promise<void> {
    configLoader ??= await import('../config/load.js');
  }

  /** Every parse failure is a usage error: one line, a hint, exit 2, with or without --json. */
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      const out = await super.parse(options, argv);
      // As the user typed them (`--memory 8Gi`, not the bytes it parses to), for printed commands.
      const typed: Record<string, unknown> = {};
      for (const t of out.raw) {
        if (t.type !== 'flag') continue;
        const v = (out.flags as Record<string, unknown>)[t.flag];
        if (typeof v === 'boolean') typed[t.flag] = v;
        else typed[t.flag] = [...((typed[t.flag] as string[] | undefined) ?? []), t.input];
      }
      this.parsedFlags = typed;
      return out;
    } catch (error) {
      throw usageError(error, this.id ?? '', options?.flags ? Object.keys(options.flags) : []);
    }
  }

  /** Records a warning: printed on stderr now, and returned in the JSON envelope. */
  protected warnUser(text: string): void {
    const message = this.withFlags(text);
    this.warnings.push(message);
    if (!this.jsonEnabled()) process.stderr.write(`${wrapToTerminal(`Warning: ${message}`, 2)}\n`);
  }

  /** A note for the user (what to do next, what was assumed): stderr, and `warnings` under --json. */
  protected note(text: string): void {
    const message = this.withFlags(text);
    this.warnings.push(message.replace(/^Note: /, ''));
    if (!this.jsonEnabled()) process.stderr.write(`${wrapToTerminal(message, 2)}\n`);
  }

  /** Progress on stderr (text mode only): transient, so not part of the JSON document. */
  protected progress(message: string): void {
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

  /** The flags a command accepts, from oclif's manifest (for the next commands printed). */
  private readonly flagsOf = (id: string): string[] | undefined => {
    const c = this.config.findCommand(id);
    return c ? Object.keys(c.flags ?? {}) : undefined;
  };

  /** A command line to print (`status`, `tune pool --write`), carrying the user's selecting flags. */
  protected nextCommand(command: string): string {
    return nextCommand(command, this.parsedFlags, this.flagsOf);
  }

  /** Every `sentinel-ctl ...` inside a text, carrying the user's selecting flags. */
  protected withFlags(text: string): string {
    return carryFlags(text, this.parsedFlags, this.flagsOf);
  }

  /** Loads the effective config from the parsed base flags plus command-specific overrides. */
  protected loadConfig(
    flags: { config?: string; 'state-dir'?: string; 'port-offset'?: number; profile?: string },
    options: { overrides?: FlagOverride[]; persistCredentials?: boolean } = {},
  ): LoadedConfig {
    if (!configLoader) throw new Error('the config loader is not loaded: call ensureConfigLoader() first');
    return configLoader.loadConfig({
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
    if (isSentinelError(err)) {
      const error = {
        name: err.name,
        code: err.code,
        message: err.message,
        ...(err.suggestion ? { suggestion: this.withFlags(err.suggestion) } : {}),
        exitCode: err.exitCode,
      };
      return {
        status: err.exitCode,
        // A failed check carries what it found (a report, a dry run's diff, a rollout's states).
        ...(err.result === undefined ? {} : { result: err.result }),
        warnings: this.warnings,
        error,
      };
    }
    const error = { name: 'Error', code: 'BUG', message: describeError(err), exitCode: ExitCode.checkFailed };
    return { status: error.exitCode, warnings: this.warnings, error };
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    // oclif's own exits (help, --version) pass through.
    if (err instanceof Errors.ExitError) return super.catch(err);
    if (!isSentinelError(err) && (err as { oclif?: unknown }).oclif) {
      // A parse-time oclif error that did not go through parse() (e.g. from init): still usage.
      return this.catch(usageError(err, this.id ?? '', []));
    }
    if (isSentinelError(err)) {
      process.exitCode = err.exitCode;
      if (this.jsonEnabled()) {
        this.logJson(this.toErrorJson(err));
        return;
      }
      // Printed here rather than by oclif, which wraps lines at 80 columns and breaks the
      // one-line messages (and the port or path inside them) in two.
      // Wrapped at spaces only, so a port, path or command inside is never broken in two.
      const hint = err.suggestion ? `${wrapToTerminal(`Hint: ${this.withFlags(err.suggestion)}`, 6)}\n` : '';
      process.stderr.write(`${wrapToTerminal(`Error: ${err.message}`, 7)}\n${hint}`);
      throw new Errors.ExitError(err.exitCode);
    }
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
