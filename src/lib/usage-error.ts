/**
 * oclif's parse errors as sentinel-ctl's usage errors: one line and a hint, exit 2, with or
 * without --json, instead of a multi-line message followed by the whole help page.
 */
import { UserError } from './errors.js';

/** Edit distance, for "did you mean" on flags and commands. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within a third of the word's length (at least 2 edits), if any. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

/** The message of a parse error on one line, without oclif's "See more help" tail. */
function oneLine(message: string): string {
  return stripAnsi(message)
    .replace(/\nSee more help with --help\s*$/, '')
    .replace(/^The following errors? occurred:\s*/, '')
    .replace(/^Parsing (--[\w-]+)\s*\n\s*/, '$1: ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

export function usageError(error: unknown, commandId: string, flagNames: string[]): UserError {
  const command = `sentinel-ctl ${commandId.replaceAll(':', ' ')}`.trim();
  const help = `See \`${command} --help\`.`;
  const e = error as {
    message?: string;
    flags?: string[];
    args?: Array<{ name?: string; options?: string[] }>;
    constructor?: { name?: string };
  };
  if (e instanceof UserError) return e;
  if (e.constructor?.name === 'RequiredArgsError' && Array.isArray(e.args)) {
    const names = e.args.map(
      (a) => `${(a.name ?? '').toUpperCase()}${a.options ? ` (${a.options.join('|')})` : ''}`,
    );
    return new UserError(`Missing argument ${names.join(', ')}.`, { suggestion: help, cause: error });
  }
  const message = oneLine(e.message ?? String(error));
  if (Array.isArray(e.flags) && e.flags.length > 0) {
    const guess = closest(e.flags[0]!.replace(/^-+/, '').replace(/=.*/, ''), flagNames);
    return new UserError(`${message}.`, {
      suggestion: guess ? `Did you mean --${guess}? ${help}` : help,
      cause: error,
    });
  }
  return new UserError(/[.!?]$/.test(message) ? message : `${message}.`, { suggestion: help, cause: error });
}
