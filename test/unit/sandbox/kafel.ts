/**
 * A reader of the Kafel subset that kafelPolicy() writes — `ACTION { item, ... } ... DEFAULT
 * ACTION`, where an item is `SYSCALL[n]` (with an optional comment) or `clone { (clone_flags &
 * MASK) != 0 }` — and the verdict Kafel's compiled filter gives a call. Written from Kafel's
 * grammar (kafel src/parser.y), not from seccomp.ts, so the parity test compares two independent
 * readings of one table. Kafel itself kills a call from an architecture it was not built for.
 */
export interface KafelRule {
  action: string;
  nr: number;
  /** For clone: the rule matches when arg0 & mask is not 0. */
  argMask?: bigint;
}

export interface KafelPolicy {
  rules: KafelRule[];
  defaultAction: string;
}

const CLONE = 56;

export function parseKafelPolicy(text: string): KafelPolicy {
  const withoutComments = text.replace(/\/\*.*?\*\//g, '');
  const rules: KafelRule[] = [];
  const block = /(KILL_PROCESS|KILL|ALLOW|ERRNO\(\d+\))\s*\{((?:[^{}]|\{[^{}]*\})*)\}/g;
  for (const m of withoutComments.matchAll(block)) {
    const action = m[1] as string;
    for (const item of (m[2] as string).split(/,(?![^{]*\})/)) {
      const t = item.trim();
      const numbered = /^SYSCALL\[(0x[0-9a-fA-F]+|\d+)\]$/.exec(t);
      const clone = /^clone\s*\{\s*\(clone_flags\s*&\s*(0x[0-9a-fA-F]+)\)\s*!=\s*0\s*\}$/.exec(t);
      if (numbered) rules.push({ action, nr: Number(numbered[1]) });
      else if (clone) rules.push({ action, nr: CLONE, argMask: BigInt(clone[1] as string) });
      else throw new Error(`kafel: cannot read ${JSON.stringify(t)}`);
    }
  }
  const def = /DEFAULT\s+(\w+(?:\(\d+\))?)\s*$/.exec(withoutComments);
  if (!def) throw new Error('kafel: no DEFAULT action');
  return { rules, defaultAction: def[1] as string };
}

export function kafelVerdict(
  policy: KafelPolicy,
  call: { nr: number; arg0?: bigint; arch?: 'x86_64' | 'i386' },
): string {
  if ((call.arch ?? 'x86_64') !== 'x86_64') return 'KILL_PROCESS';
  for (const r of policy.rules) {
    if (r.nr !== call.nr) continue;
    if (r.argMask === undefined || ((call.arg0 ?? 0n) & r.argMask) !== 0n) return r.action;
  }
  return policy.defaultAction;
}
