import { existsSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { SentinelCommand } from '../cli/base-command.js';
import { serviceNames } from '../config/schema.js';
import { ExitCode, UserError } from '../lib/errors.js';
import { follow, lastLines } from '../services/logs.js';
import { createControllers } from '../services/stack.js';

export interface LogsResult {
  service: string;
  file: string;
  lines: string[];
}

export default class Logs extends SentinelCommand<LogsResult> {
  static override summary = "Show a service's log from the state directory.";
  static override description =
    'Prints the last lines of the log of one service of the local stack; with --follow keeps printing what is appended until Ctrl-C.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> postgres',
    '<%= config.bin %> <%= command.id %> rabbitmq --lines 200',
    '<%= config.bin %> <%= command.id %> redis --follow',
  ];
  static override args = {
    service: Args.string({ required: true, options: [...serviceNames], description: 'Which service.' }),
  };
  static override flags = {
    lines: Flags.integer({ summary: 'How many lines from the end.', default: 50, min: 1 }),
    follow: Flags.boolean({
      char: 'f',
      summary: 'Keep printing new lines until Ctrl-C.',
      exclusive: ['json'],
    }),
  };

  async run(): Promise<LogsResult> {
    const { args, flags } = await this.parse(Logs);
    const { config } = this.loadConfig(flags);
    const controller = createControllers(config).find((c) => c.name === args.service);
    if (!controller) {
      throw new UserError(`The local stack has no ${args.service} service yet.`);
    }
    const file = controller.logFile();
    if (!existsSync(file)) {
      throw new UserError(`${args.service} has no log yet (${file}).`, {
        suggestion: 'Start it with `sentinel-ctl up`; check --state-dir if you used another one.',
      });
    }
    // Ctrl-C is caught before anything is printed, so it always ends the follow cleanly.
    const ac = new AbortController();
    if (flags.follow) process.once('SIGINT', () => ac.abort());
    const text = lastLines(file, flags.lines);
    if (!this.jsonEnabled() && text) this.log(text);
    if (flags.follow) {
      await follow(file, (s) => process.stdout.write(s), ac.signal);
      // Following ends only with Ctrl-C: exit 130, as shells report it.
      if (ac.signal.aborted) process.exitCode = ExitCode.interrupted;
    }
    return { service: args.service, file, lines: text ? text.split('\n') : [] };
  }
}
