import { UserError } from '../lib/errors.js';
import { parseDuration } from './duration.js';

/** One ramp step, as in k6's `stages`: move linearly to `target` over `durationMs`. */
export interface Stage {
  durationMs: number;
  target: number;
}

/**
 * Parses `30s:10,1m:100,2m:100` (k6's stage list in one flag). The level ramps linearly from the
 * previous target (or the start level) to each stage's target over the stage's duration.
 */
export function parseStages(text: string, flag = '--stages'): Stage[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new UserError(`${flag} is empty.`, { suggestion: 'Example: 30s:10,1m:100' });
  return parts.map((part) => {
    const m = /^([^:]+):\s*(\d+(?:\.\d+)?)$/.exec(part);
    const durationMs = m ? parseDuration(m[1]!) : undefined;
    if (!m || durationMs === undefined || durationMs <= 0) {
      throw new UserError(`${flag}: "${part}" is not DURATION:TARGET.`, {
        suggestion: 'Write stages as 30s:10,1m:100 (ramp to 10 over 30 s, then to 100 over 1 min).',
      });
    }
    return { durationMs, target: Number(m[2]) };
  });
}

/** The total length of a stage list. */
export function stagesDuration(stages: Stage[]): number {
  return stages.reduce((a, s) => a + s.durationMs, 0);
}

/** The interpolated level `elapsedMs` into the schedule; after the last stage, its target. */
export function levelAt(stages: Stage[], elapsedMs: number, start = 0): number {
  let from = start;
  let t = elapsedMs;
  for (const s of stages) {
    if (t < s.durationMs) return from + ((s.target - from) * t) / s.durationMs;
    t -= s.durationMs;
    from = s.target;
  }
  return from;
}

/** The highest level the schedule reaches. */
export function peakLevel(stages: Stage[], start = 0): number {
  return Math.max(start, ...stages.map((s) => s.target));
}

/**
 * Arrival times (ms from the start) for an open model whose rate (per second) follows the stages.
 * The cumulative count N(t) = ∫ rate is piecewise quadratic; arrival i is due when N(t) = i + phase,
 * solved per stage, so a ramp produces arrivals exactly as dense as its rate says. `phase` in [0,1)
 * interleaves the arrivals of several worker threads that each run a share of the rate.
 */
export class ArrivalSchedule {
  private stageIndex = 0;
  private stageStart = 0;
  private stageCumBefore = 0;
  private next: number;
  private readonly stages: Stage[];

  constructor(
    stages: Stage[],
    private readonly startRate: number,
    phase = 0,
  ) {
    this.stages = stages;
    this.next = phase;
  }

  /** The due time (ms from start) of the next arrival, or undefined when the schedule is over. */
  nextDue(): number | undefined {
    while (this.stageIndex < this.stages.length) {
      const s = this.stages[this.stageIndex]!;
      const r0 = (this.stageIndex === 0 ? this.startRate : this.stages[this.stageIndex - 1]!.target) / 1000;
      const r1 = s.target / 1000;
      const d = s.durationMs;
      const inStage = ((r0 + r1) / 2) * d;
      const want = this.next - this.stageCumBefore;
      if (want < inStage) {
        // Solve r0·t + (r1−r0)/(2d)·t² = want for t in [0, d].
        const a = (r1 - r0) / (2 * d);
        let t: number;
        if (Math.abs(a) < 1e-15) t = want / r0;
        else t = (-r0 + Math.sqrt(Math.max(0, r0 * r0 + 4 * a * want))) / (2 * a);
        this.next += 1;
        return this.stageStart + Math.min(Math.max(t, 0), d);
      }
      this.stageCumBefore += inStage;
      this.stageStart += d;
      this.stageIndex += 1;
    }
    return undefined;
  }
}
