/**
 * What a `tune <topic>` command does, end to end: gather facts, plan the topic's recommendations and
 * edits (pure), then — with `--dry-run` or `--write` — plan the manifest changes (masked diffs) and
 * apply them atomically. Read, plan, apply (docs/design.md "Logic and I/O").
 */

import { type Gathered, type GatherOptions, gatherFacts } from '../facts/gather.js';
import { UserError } from '../lib/errors.js';
import { applyPlan, planEdits } from '../manifests/index.js';
import { planKeda } from './topic-keda.js';
import { planPool } from './topic-pool.js';
import { planPrefetch } from './topic-prefetch.js';
import { planRabbitmq } from './topic-rabbitmq.js';
import { planRedis } from './topic-redis.js';
import type { TunePlan, TuneResult, TuneTopic, TuneWrite } from './types.js';

export { diffText } from './diff.js';

export interface TuneOptions extends GatherOptions {
  mode?: 'dry-run' | 'write';
  /** Print the diffs of the real bytes (secrets included), which `git apply` accepts. */
  showSecrets?: boolean;
  /** Topic-specific inputs (KEDA workload profile...). */
  keda?: { workload: 'default' | 'bursty' | 'steady' };
}

export const planners: Record<TuneTopic, (g: Gathered, o: TuneOptions) => TunePlan> = {
  pool: (g) => planPool(g),
  keda: (g, o) => planKeda(g, o.keda?.workload ?? 'default'),
  prefetch: (g) => planPrefetch(g),
  redis: (g) => planRedis(g),
  rabbitmq: (g) => planRabbitmq(g),
};

/** Plans (and with mode `write`, applies) the edits; `unchanged` says a second run has nothing to do. */
export function writeEdits(
  g: Gathered,
  plan: TunePlan,
  mode: 'dry-run' | 'write',
  opts: { showSecrets?: boolean } = {},
): TuneWrite {
  if (!g.tree) {
    throw new UserError(`--${mode} needs something to change.`, {
      suggestion: 'Pass --manifests DIR and/or --dotenv FILE.',
    });
  }
  const p = planEdits(g.tree, plan.edits);
  const written = mode === 'write' && p.files.length > 0 ? applyPlan(p) : [];
  const files = p.files.map((f) =>
    opts.showSecrets
      ? { file: f.display, diff: f.rawDiff, masked: false }
      : { file: f.display, diff: f.diff, masked: f.masked },
  );
  const masked = files.filter((f) => f.masked).map((f) => f.file);
  const warnings = [...p.warnings];
  if (masked.length > 0) {
    warnings.push(
      `The diff of ${masked.join(', ')} masks secret values (****), so it is for reading and does not apply with git apply; --show-secrets prints the real values${mode === 'dry-run' ? ', or apply with --write' : ''}.`,
    );
  }
  return {
    mode,
    files,
    changes: p.changes,
    written: written.map((w) => g.tree!.files.find((f) => f.path === w)?.display ?? w),
    unchanged: p.files.length === 0,
    warnings,
  };
}

export async function runTune(topic: TuneTopic, o: TuneOptions): Promise<TuneResult> {
  const g = await gatherFacts(o);
  const plan = planners[topic](g, o);
  const result: TuneResult = {
    topic,
    profile: g.profile,
    facts: g.book.rows,
    notes: topic === 'pool' || topic === 'keda' ? [...g.book.notes, ...g.book.capacityNotes] : g.book.notes,
    rows: plan.rows,
    warnings: [...g.warnings, ...plan.warnings],
  };
  if (o.mode) {
    result.write = writeEdits(g, plan, o.mode, { showSecrets: o.showSecrets ?? false });
    result.warnings.push(...result.write.warnings);
  }
  return result;
}
