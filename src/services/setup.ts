import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EnvironmentError } from '../lib/errors.js';
import { run } from '../lib/proc.js';
import { isRoot } from './accounts.js';

/** One thing `up` (or the tests, with --dev) needs: a file that proves it, and its Debian package. */
export interface Requirement {
  what: string;
  path: string;
  aptPackage: string;
  forDev?: boolean;
}

export const requirements: Requirement[] = [
  { what: 'PostgreSQL 15 server', path: '/usr/lib/postgresql/15/bin/postgres', aptPackage: 'postgresql-15' },
  {
    what: 'pg_stat_statements (diagnose)',
    path: '/usr/lib/postgresql/15/lib/pg_stat_statements.so',
    aptPackage: 'postgresql-15',
  },
  { what: 'RabbitMQ server', path: '/usr/lib/rabbitmq/bin/rabbitmq-server', aptPackage: 'rabbitmq-server' },
  { what: 'Erlang port mapper (epmd)', path: '/usr/bin/epmd', aptPackage: 'erlang-base' },
  { what: 'Redis server', path: '/usr/bin/redis-server', aptPackage: 'redis-server' },
  { what: 'bubblewrap (sandbox driver)', path: '/usr/bin/bwrap', aptPackage: 'bubblewrap' },
  { what: 'setpriv (drop privileges)', path: '/usr/bin/setpriv', aptPackage: 'util-linux' },
  { what: 'g++ (C++ submissions)', path: '/usr/bin/g++', aptPackage: 'g++' },
  { what: 'python3 (Python submissions)', path: '/usr/bin/python3', aptPackage: 'python3' },
  {
    what: 'Chromium (HTML report screenshots in tests)',
    path: '/usr/bin/chromium',
    aptPackage: 'chromium',
    forDev: true,
  },
  { what: 'tmux (terminal UI checks)', path: '/usr/bin/tmux', aptPackage: 'tmux', forDev: true },
  { what: 'wrk (load generator baseline in bench/)', path: '/usr/bin/wrk', aptPackage: 'wrk', forDev: true },
  {
    what: 'etcd (store of the Kubernetes API server the tests start)',
    path: '/usr/bin/etcd',
    aptPackage: 'etcd-server',
    forDev: true,
  },
  {
    what: 'Prometheus (optional sixth service; diagnose windows in tests)',
    path: '/usr/bin/prometheus',
    aptPackage: 'prometheus',
    forDev: true,
  },
];

export interface Platform {
  id: string;
  name: string;
  apt: boolean;
}

/** Reads /etc/os-release: apt is used on Debian, Ubuntu and their derivatives. */
export function detectPlatform(osRelease?: string): Platform {
  let text = osRelease;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/os-release', 'utf8');
    } catch {
      text = '';
    }
  }
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text ?? '')?.[1] ?? '';
  const id = field('ID') || process.platform;
  const like = field('ID_LIKE');
  return {
    id,
    name: field('PRETTY_NAME') || id,
    apt: /\b(debian|ubuntu)\b/.test(`${id} ${like}`) && existsSync('/usr/bin/apt-get'),
  };
}

export interface SetupPlan {
  platform: Platform;
  present: Requirement[];
  missing: Requirement[];
  packages: string[];
  commands: string[];
}

/** What is there, what is missing, and the commands that would install it. Pure apart from existsSync. */
export function planSetup(opts: {
  dev: boolean;
  platform?: Platform;
  exists?: (p: string) => boolean;
}): SetupPlan {
  const exists = opts.exists ?? existsSync;
  const platform = opts.platform ?? detectPlatform();
  const wanted = requirements.filter((r) => opts.dev || !r.forDev);
  const missing = wanted.filter((r) => !exists(r.path));
  const packages = [...new Set(missing.map((r) => r.aptPackage))];
  const commands = packages.length
    ? ['apt-get update', `DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`]
    : [];
  return { platform, present: wanted.filter((r) => exists(r.path)), missing, packages, commands };
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * Runs the plan with apt. The packages' own init scripts would start system-wide PostgreSQL,
 * RabbitMQ and Redis on the very ports `up` uses; a temporary policy-rc.d (exit 101, as in
 * container images) keeps them from starting, and is removed afterwards.
 */
export async function applySetup(plan: SetupPlan): Promise<void> {
  if (plan.packages.length === 0) return;
  if (!plan.platform.apt) {
    throw new EnvironmentError(
      `${plan.platform.name} has no apt; install these yourself: ${plan.missing.map((m) => `${m.what} (${m.path})`).join(', ')}.`,
      { code: 'UNSUPPORTED_PLATFORM' },
    );
  }
  if (!isRoot()) {
    throw new EnvironmentError('Installing packages needs root.', {
      code: 'NOT_ROOT',
      suggestion: `Run \`sudo sentinel-ctl setup --yes\`, or: sudo ${plan.commands.join(' && sudo ')}`,
    });
  }
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy)
    writeFileSync(
      POLICY_RC,
      '#!/bin/sh\n# sentinel-ctl setup: do not start services during install\nexit 101\n',
      { mode: 0o755 },
    );
  try {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update'], { env, echo: true, timeoutMs: 15 * 60_000 });
    await run('apt-get', ['install', '-y', ...plan.packages], { env, echo: true, timeoutMs: 30 * 60_000 });
  } finally {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
  }
  const still = plan.missing.filter((m) => !existsSync(m.path));
  if (still.length) {
    throw new EnvironmentError(`Installed, but still missing: ${still.map((m) => m.path).join(', ')}.`, {
      code: 'SETUP_INCOMPLETE',
    });
  }
}
