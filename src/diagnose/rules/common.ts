import type { ResourceClassification } from '../../tuners/resource-targets.js';
import type { Finding, Severity } from '../types.js';

/** A rule: facts (all components, some possibly down) plus context in, findings out. No I/O. */
export type Rule<F> = (facts: F, ctx: import('../types.js').RuleContext) => Finding[];

/** SARK bands → severity: the warning band warns, the critical band and beyond are critical. */
export function bandSeverity(c: ResourceClassification): Severity | undefined {
  switch (c.level) {
    case 'ok':
      return undefined;
    case 'warning':
      return 'warning';
    default:
      return 'critical';
  }
}

/** How long a sustained condition has held, from the first time it was seen. */
export function heldSeconds(since: number, now: number): number {
  return Math.max(0, (now - since) / 1000);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
