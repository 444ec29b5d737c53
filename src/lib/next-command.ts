/**
 * The commands sentinel-ctl prints for the user to run next ("Check with `sentinel-ctl status`",
 * "apply it with `sentinel-ctl tune pool --write`") carry the flags that selected this stack or
 * these manifests, so the printed command acts on the same thing (docs/conventions.md).
 */

/** Flags that choose *what* a command acts on, in the order they are printed. */
export const SELECTING_FLAGS = [
  'config',
  'state-dir',
  'port-offset',
  'profile',
  'manifests',
  'env-file',
  'api-workload',
  'worker-workload',
  'live',
] as const;

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `sentinel-ctl <command> [args] --state-dir X ...`: `given` are the parsed flags of the command
 * that prints it; only the selecting flags that the user actually set are carried over.
 */
export function nextCommand(
  command: string,
  given: Record<string, unknown>,
  options: { args?: string[]; carry?: readonly string[] } = {},
): string {
  const words = ['sentinel-ctl', ...command.split(' '), ...(options.args ?? [])];
  for (const name of options.carry ?? SELECTING_FLAGS) {
    const v = given[name];
    if (v === undefined || v === false || v === null) continue;
    if (v === true) words.push(`--${name}`);
    else for (const one of Array.isArray(v) ? v : [v]) words.push(`--${name}`, shellQuote(String(one)));
  }
  return words.join(' ');
}
