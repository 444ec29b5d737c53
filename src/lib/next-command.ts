/**
 * The commands sentinel-ctl prints for the user to run next ("Check with `sentinel-ctl status`",
 * "(sentinel-ctl tune pool --write)") carry the flags that selected this stack or these manifests,
 * so the printed command acts on the same thing (docs/design.md "Next commands"). One helper
 * renders them all: notes, warnings, error hints and findings go through `carryFlags`.
 */

/**
 * Flags that choose *what* a command acts on (and the facts tune computes from), in the order they
 * are printed. Only those the printed command accepts are carried.
 */
export const SELECTING_FLAGS = [
  'config',
  'state-dir',
  'port-offset',
  'profile',
  'manifests',
  'dotenv',
  'api-workload',
  'worker-workload',
  'live',
  // The cluster (`--k8s`): a printed `tune ... --write` reads the same cluster's facts.
  'k8s',
  'kubeconfig',
  'context',
  'namespace',
  // The facts given on the command line: a printed `tune ... --write` must compute the same values.
  'cpus',
  'memory',
  'api-replicas',
  'worker-replicas',
  'max-replicas',
  'max-connections',
  'disk',
  'db-cpus',
  'spindles',
  'p50',
  'p99',
  'p50-ms',
  'p99-ms',
  'keys',
  'bytes-per-key',
  'workload',
] as const;

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Which flags a command accepts (from oclif's manifest); undefined when the command is unknown. */
export type FlagsOf = (commandId: string) => string[] | undefined;

/** The `--flag value` words for the selecting flags the user set that `accepted` allows. */
function selectingWords(
  given: Record<string, unknown>,
  accepted: string[] | undefined,
  present: string,
): string[] {
  const words: string[] = [];
  for (const name of SELECTING_FLAGS) {
    const v = given[name];
    if (v === undefined || v === false || v === null) continue;
    if (accepted && !accepted.includes(name)) continue;
    if (new RegExp(`(^|\\s)--${name}(\\s|=|$)`).test(present)) continue;
    if (v === true) words.push(`--${name}`);
    else for (const one of Array.isArray(v) ? v : [v]) words.push(`--${name}`, shellQuote(String(one)));
  }
  return words;
}

/** Splits `tune pool --write` into the command id (`tune:pool`) and the rest, by the known ids. */
function commandIdOf(words: string[], flagsOf: FlagsOf): number {
  for (let n = Math.min(words.length, 3); n > 0; n--) {
    if (flagsOf(words.slice(0, n).join(':'))) return n;
  }
  return 0;
}

/** `sentinel-ctl <command> [args]` plus the selecting flags the user gave that it accepts. */
export function nextCommand(
  command: string,
  given: Record<string, unknown>,
  flagsOf: FlagsOf = () => undefined,
): string {
  const words = command.split(' ').filter(Boolean);
  const n = commandIdOf(words, flagsOf);
  const accepted = n > 0 ? flagsOf(words.slice(0, n).join(':')) : undefined;
  return ['sentinel-ctl', ...words, ...selectingWords(given, accepted, command)].join(' ');
}

/**
 * Rewrites every `sentinel-ctl ...` command inside a text (in backticks, or in parentheses as the
 * findings write them) so that it carries the user's selecting flags.
 */
export function carryFlags(text: string, given: Record<string, unknown>, flagsOf: FlagsOf): string {
  if (!SELECTING_FLAGS.some((f) => given[f] !== undefined && given[f] !== false)) return text;
  const rewrite = (cmd: string) => {
    const words = cmd.split(' ').filter(Boolean);
    const n = commandIdOf(words, flagsOf);
    if (n === 0) return `sentinel-ctl ${cmd}`;
    const extra = selectingWords(given, flagsOf(words.slice(0, n).join(':')), cmd);
    return ['sentinel-ctl', ...words, ...extra].join(' ');
  };
  return text
    .replace(/`sentinel-ctl ([^`]+)`/g, (_, cmd: string) => `\`${rewrite(cmd)}\``)
    .replace(/\(sentinel-ctl ([^()`]+)\)/g, (_, cmd: string) => `(${rewrite(cmd)})`);
}
