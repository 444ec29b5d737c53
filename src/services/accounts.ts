import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../lib/errors.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** Looks an account up in /etc/passwd (no NSS, no child process). */
export function lookupAccount(name: string): Account | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * PostgreSQL refuses to run as root (docs/design.md "PostgreSQL as a private cluster"): as root we
 * run it as an unprivileged account; otherwise as ourselves (undefined).
 */
export function serverAccount(name: string): Account | undefined {
  if (!isRoot()) return undefined;
  const account = lookupAccount(name);
  if (!account) {
    throw new EnvironmentError(`The account "${name}" that PostgreSQL should run as does not exist.`, {
      code: 'ACCOUNT_MISSING',
      suggestion: 'Run `sentinel-ctl setup` (the postgresql package creates it), or set postgres.runAsUser.',
    });
  }
  return account;
}

/**
 * The first ancestor of `dir` that `account` cannot enter (no search permission), or undefined
 * when the whole path is reachable. Supplementary groups are ignored: the server runs without them.
 */
export function blockingAncestor(dir: string, account: Account): string | undefined {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let cur: string = path.sep;
  for (const part of ['', ...parts]) {
    cur = part ? path.join(cur, part) : cur;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(cur);
    } catch {
      return undefined; // Not created yet: we create it, reachable from here on.
    }
    const mode = Number(st.mode);
    const ok =
      (Number(st.uid) === account.uid && (mode & 0o100) !== 0) ||
      (Number(st.gid) === account.gid && (mode & 0o010) !== 0) ||
      (mode & 0o001) !== 0;
    if (!ok) return cur;
  }
  return undefined;
}
