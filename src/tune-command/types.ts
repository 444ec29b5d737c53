/**
 * What every `tune` command returns: the facts it used, one row per setting (current value,
 * recommendation, why, where the formula comes from), and what `--write` / `--dry-run` did.
 */

import type { FactRow } from '../facts/book.js';
import type { ManifestEdit, PlannedChange } from '../manifests/index.js';
import type { Basis, Fact, Recommendation, Source, TunerWarning } from '../tuners/index.js';

export const tuneTopics = ['pool', 'keda', 'prefetch', 'redis', 'rabbitmq'] as const;
export type TuneTopic = (typeof tuneTopics)[number];

export interface TuneRow {
  /** The setting as it is written: `WORKER_POOL_SIZE`, `max_connections`, `spec.pollingInterval`. */
  setting: string;
  /** Where it lives: `worker`, `api DATABASE_URL`, `postgresql`, `ScaledObject`… */
  component: string;
  current?: string;
  /** Where the current value was read (`manifest: worker.yaml: Deployment/sentinel-worker env …`). */
  currentFrom?: string;
  recommended: string;
  /** The recommended value in machine form (number, string or object). */
  value: unknown;
  /** The formula with its inputs filled in. */
  reason: string;
  source: Source;
  basis?: Basis;
  /** `same` when the current value already is the recommendation, `unknown` when nothing says. */
  status: 'same' | 'change' | 'unknown' | 'info';
  warnings?: TunerWarning[];
}

export interface TuneWrite {
  mode: 'dry-run' | 'write';
  /**
   * Files that change (or would), with their unified diffs: masked unless --show-secrets.
   * `masked`: secret values in the diff are shown as **** (or a URL's password), so it does not
   * apply with `git apply`.
   */
  files: Array<{ file: string; diff: string; masked: boolean }>;
  /** Every changed value, masked. */
  changes: PlannedChange[];
  /** Files written (empty for a dry run or when nothing changes). */
  written: string[];
  /** True when the manifests already hold every recommendation: a second `--write` is a no-op. */
  unchanged: boolean;
  warnings: string[];
}

export interface TuneResult {
  topic: TuneTopic;
  profile: string;
  facts: FactRow[];
  /** About the facts: sources that failed, values that disagree, assumptions made. */
  notes: string[];
  rows: TuneRow[];
  /** About the recommendations: what cannot be written safely, sizing caveats. */
  warnings: string[];
  write?: TuneWrite;
}

/** What a topic's planner produces from the facts: the rows, and the edits `--write` would make. */
export interface TunePlan {
  rows: TuneRow[];
  edits: ManifestEdit[];
  /** Things the user must know (a setting that cannot be written safely, a sizing caveat). */
  warnings: string[];
}

/** Builds a row from a tuner recommendation and the current fact. */
export function row<T>(
  setting: string,
  component: string,
  rec: Recommendation<T>,
  current: Fact<unknown> | undefined,
  opts: {
    show?: (v: T) => string;
    showCurrent?: (v: unknown) => string;
    same?: (cur: unknown, rec: T) => boolean;
    info?: boolean;
  } = {},
): TuneRow {
  const show = opts.show ?? ((v: T) => String(v));
  const showCurrent = opts.showCurrent ?? ((v: unknown) => (v === null ? 'unset' : String(v)));
  const same = opts.same ?? ((c: unknown, r: T) => c === r);
  const r: TuneRow = {
    setting,
    component,
    recommended: show(rec.value),
    value: rec.value,
    reason: rec.reason,
    source: rec.source,
    status: opts.info
      ? 'info'
      : current === undefined
        ? 'unknown'
        : same(current.value, rec.value)
          ? 'same'
          : 'change',
  };
  if (current) {
    r.current = showCurrent(current.value);
    r.currentFrom = `${current.from}: ${current.detail}`;
  }
  if (rec.basis) r.basis = rec.basis;
  if (rec.warnings && rec.warnings.length > 0) r.warnings = rec.warnings;
  return r;
}
