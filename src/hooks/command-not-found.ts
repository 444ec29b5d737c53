/**
 * oclif's `command_not_found` hook: a mistyped command (`dianose`, `tune pol`) gets one error line,
 * the closest command as "Did you mean", and exit 2 (a usage error), with or without --json.
 */
import type { Hook } from '@oclif/core';
import { UserError } from '../lib/errors.js';
import { closest } from '../lib/usage-error.js';

const hook: Hook<'command_not_found'> = async function (opts) {
  const typed = opts.id.replaceAll(':', ' ');
  const ids = opts.config.commandIDs.filter((c) => !opts.config.findCommand(c)?.hidden);
  const guess = closest(opts.id, ids);
  const suggestion = guess
    ? `Did you mean \`sentinel-ctl ${guess.replaceAll(':', ' ')}\`? Run \`sentinel-ctl help\` for every command.`
    : 'Run `sentinel-ctl help` for every command.';
  const err = new UserError(`Unknown command "${typed}".`, { code: 'UNKNOWN_COMMAND', suggestion });
  if (opts.argv?.includes('--json') || process.argv.includes('--json')) {
    const { exitCode, name, code, message } = err;
    process.stdout.write(
      `${JSON.stringify({ status: exitCode, warnings: [], error: { name, code, message, suggestion, exitCode } }, null, 2)}\n`,
    );
  } else {
    process.stderr.write(`Error: ${err.message}\nHint: ${suggestion}\n`);
  }
  this.exit(err.exitCode);
};

export default hook;
