/**
 * The one duration parser of sentinel-ctl: every duration flag, config key and environment
 * variable goes through it (docs/design.md "Durations").
 *
 * Accepted: `500ms`, `30s`, `1m`, `2h`, Go/k6 compounds such as `1m30s` or `1h2m3.5s`, and a bare
 * number, which means seconds as in wrk and autocannon (`-d 10` is ten seconds).
 */
import { Flags, type Interfaces } from '@oclif/core';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Milliseconds, or undefined when `text` is not a duration (callers say which value was wrong). */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2] as Unit];
  return Math.round(total);
}

/** What help and errors say a duration looks like. */
export const DURATION_HINT = 'a duration: 500ms, 30s, 2m, 1m30s, 1h (a bare number is seconds)';

/** `90000` → `1m30s`; sub-second values as `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalS = Math.round(ms / 100) / 10;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = Math.round((totalS % 60) * 10) / 10;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec || (!h && !m) ? `${sec}s` : ''}`;
}

/**
 * A duration flag whose value is milliseconds. `min` / `max` are milliseconds too; the default is
 * shown in help as a duration (`[default: 2s]`), and the value placeholder says a unit is expected.
 */
interface DurationFlagOptions {
  summary: string;
  default?: number;
  min?: number;
  max?: number;
  helpGroup?: string;
  exclusive?: string[];
  dependsOn?: string[];
}
export function durationFlag(
  o: DurationFlagOptions & { default: number },
): Interfaces.OptionFlag<number, Interfaces.CustomOptions>;
export function durationFlag(
  o: DurationFlagOptions,
): Interfaces.OptionFlag<number | undefined, Interfaces.CustomOptions>;
export function durationFlag(o: DurationFlagOptions) {
  const { min = 1, max, default: def, ...rest } = o;
  const parse = async (s: string): Promise<number> => {
    const ms = parseDuration(s);
    if (ms === undefined) throw new Error(`Expected ${DURATION_HINT}, got "${s}"`);
    if (ms < min) throw new Error(`Expected at least ${formatDuration(min)}, got "${s}"`);
    if (max !== undefined && ms > max) throw new Error(`Expected at most ${formatDuration(max)}, got "${s}"`);
    return ms;
  };
  return Flags.custom<number>({ parse, helpValue: '<duration>' })({
    ...rest,
    ...(def === undefined ? {} : { default: def, defaultHelp: async () => formatDuration(def) }),
  });
}

/**
 * A deprecated flag whose name carries its unit and whose value is a bare number of milliseconds
 * (`--p50-ms 250`), kept hidden beside its duration flag so old scripts still work; the command
 * warns with legacyMsWarning when it is used (docs/design.md "Durations").
 */
export function legacyMsFlag(o: { replacement: string; min?: number; max?: number; helpGroup?: string }) {
  const { min = 1, max = 86_400_000 } = o;
  const parse = async (s: string): Promise<number> => {
    const n = Number(s);
    if (!(s.trim() !== '' && Number.isFinite(n)))
      throw new Error(`Expected milliseconds, got "${s}" (or use --${o.replacement} <duration>)`);
    if (n < min || n > max) throw new Error(`Expected ${min}–${max} ms, got "${s}"`);
    return Math.round(n);
  };
  return Flags.custom<number>({ parse, helpValue: '<ms>' })({
    summary: `Deprecated: use --${o.replacement} <duration>. Milliseconds.`,
    hidden: true,
    exclusive: [o.replacement],
    ...(o.helpGroup ? { helpGroup: o.helpGroup } : {}),
  });
}

/** What to say when a legacy milliseconds flag was used: the new spelling of the same value. */
export function legacyMsWarning(old: string, replacement: string, ms: number): string {
  return `--${old} is deprecated: use --${replacement} ${formatDuration(ms)} (a bare number there means seconds).`;
}
