import { filesystemAttacks } from './attacks/filesystem.js';
import { networkAttacks } from './attacks/network.js';
import { privilegeAttacks } from './attacks/privilege.js';
import { processAttacks } from './attacks/processes.js';
import { resourceAttacks } from './attacks/resources.js';
import { secretAttacks } from './attacks/secrets.js';
import type { Attack, AttackContext } from './types.js';

/**
 * Every hostile program of `audit sandbox`, with the stack's ports, paths and pids written in.
 * Pure: the same context gives the same programs, which is what the unit tests check.
 *
 * The order is the order of submission: the long resource attacks come first so they overlap with
 * the quick probes instead of trailing at the end.
 */
export function buildCatalogue(ctx: AttackContext): Attack[] {
  return [
    ...resourceAttacks(ctx),
    ...networkAttacks(ctx),
    ...secretAttacks(ctx),
    ...filesystemAttacks(ctx),
    ...privilegeAttacks(ctx),
    ...processAttacks(ctx),
  ];
}
