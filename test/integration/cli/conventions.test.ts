/**
 * The conventions every command keeps (README "Conventions"), checked on the built binary: one
 * `{status, result, warnings}` document under --json, exit 2 for usage errors with and without
 * --json, text that fits 80 columns, oclif's help / version / did-you-mean / completion, one
 * meaning per short flag, next commands that carry the user's flags, one duration syntax, and dry
 * runs whose diffs `git apply` takes. Nothing here needs a running stack: the commands that talk
 * to one are pointed at ports where nothing listens, and report that in their envelope.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, cliJson, cliProcess, repoRoot } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';

const OFFSET = testOffset('cliConventions');
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-cli-conventions-'));
const stateDir = path.join(work, 'state');
const stack = ['--state-dir', stateDir, '--port-offset', String(OFFSET)];
const manifests = path.join(repoRoot, 'test/fixtures/manifests/sentinel');
const facts = ['--manifests', manifests, '--profile', 'prod'];
const pod = ['--cpus', '4', '--memory', '8Gi'];
/** Nothing listens here: commands that need a server fail with exit 3, in their envelope. */
const deadUrl = 'http://127.0.0.1:1';

let server: http.Server;
/** The API port of this offset's (never started) stack: free for a stand-in HTTP server. */
const httpPort = 8080 + OFFSET;
const url = `http://127.0.0.1:${httpPort}/`;
const benchReport = path.join(work, 'bench.json');

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(httpPort, '127.0.0.1', resolve));
  // A log for `logs`, where `up` would have written it.
  mkdirSync(path.join(stateDir, 'api'), { recursive: true });
  writeFileSync(path.join(stateDir, 'api', 'api.log'), 'api: listening\napi: ready\n');
  // `-d 1`: a bare number is seconds (as wrk and autocannon), not one millisecond.
  const r = await cli(['bench', url, '-c', '2', '-d', '1', '--out', `json=${benchReport}`, '--json']);
  expect(r.exitCode).toBe(0);
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

/** One invocation per command that runs without a stack, and the exit code it has here. */
function invocations(): Record<string, { args: string[]; exit: number }> {
  return {
    'config:show': { args: ['config', 'show', ...stack], exit: 0 },
    // Refused before anything starts (two services on one port): exit 2, and no files left.
    up: { args: ['up', '--config', clashConfig, '--state-dir', path.join(work, 'up-state')], exit: 2 },
    status: { args: ['status', ...stack], exit: 0 },
    down: { args: ['down', ...stack], exit: 0 },
    setup: { args: ['setup', '--dry-run'], exit: 0 },
    logs: { args: ['logs', 'api', ...stack], exit: 0 },
    submit: { args: ['submit', 'examples/hello.py', '--api-url', deadUrl, '--timeout', '5s'], exit: 3 },
    bench: { args: ['bench', url, '-c', '2', '-d', '0.3'], exit: 0 },
    'bench:compare': { args: ['bench', 'compare', benchReport, benchReport], exit: 0 },
    'bench:merge': { args: ['bench', 'merge', benchReport, benchReport], exit: 0 },
    diagnose: {
      args: ['diagnose', '--once', ...stack, '--timeout', '0.5', '--sample-interval', '0.2'],
      exit: 1,
    },
    'audit:sandbox': { args: ['audit', 'sandbox', '--api-url', deadUrl], exit: 3 },
    'generate:k8s': {
      args: ['generate', 'k8s', '--profile', 'prod', '--out', path.join(work, 'k8s')],
      exit: 0,
    },
    'generate:nsjail': { args: ['generate', 'nsjail', '--out', path.join(work, 'nsjail')], exit: 0 },
    'tune:pool': { args: ['tune', 'pool', ...facts, ...pod], exit: 0 },
    'tune:keda': { args: ['tune', 'keda', ...facts, ...pod], exit: 0 },
    'tune:prefetch': { args: ['tune', 'prefetch', ...facts, '--p50', '40ms', '--p99', '80ms'], exit: 0 },
    'tune:redis': { args: ['tune', 'redis', ...facts, '--keys', '2000', '--bytes-per-key', '180'], exit: 0 },
    'tune:rabbitmq': { args: ['tune', 'rabbitmq', ...facts], exit: 0 },
    'tune:check': { args: ['tune', 'check', ...facts, ...pod], exit: 1 },
    'tune:app-pool': {
      args: ['tune', 'app-pool', '--client', 'sqlalchemy', '--replicas', '6', '--max-connections', '200'],
      exit: 0,
    },
  };
}

const clashConfig = path.join(work, 'clash.config.yaml');
writeFileSync(clashConfig, `ports:\n  redis: ${20000 + OFFSET}\n  api: ${20000 + OFFSET}\n`);

/** The long-running servers `up` starts: they have no --json (nothing to print but logs). */
const SERVERS = ['api', 'worker'];

const manifestCommands = (): string[] =>
  Object.keys(JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')).commands);

const cleanOut = () => {
  for (const d of ['k8s', 'nsjail']) rmSync(path.join(work, d), { recursive: true, force: true });
};

describe('--json: one {status, result, warnings} document, for every command', () => {
  test('the table covers every command of the binary', () => {
    expect([...Object.keys(invocations()), ...SERVERS].sort()).toEqual(manifestCommands().sort());
  });

  for (const [id, { args, exit }] of Object.entries(invocations())) {
    test(id, async () => {
      cleanOut();
      const r = await cli([...args, '--json']);
      expect(r.exitCode, r.stderr).toBe(exit);
      const doc = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(doc.status).toBe(exit);
      expect(Array.isArray(doc.warnings)).toBe(true);
      expect((doc.warnings as unknown[]).every((w) => typeof w === 'string')).toBe(true);
      if (exit === 0) expect(doc.result).toBeDefined();
      else expect((doc.error as { exitCode: number }).exitCode).toBe(exit);
      // A check that failed still carries what it found.
      if (exit === 1) expect(doc.result).toBeDefined();
      // Nothing but the document on stdout.
      expect(Object.keys(doc).every((k) => ['status', 'result', 'warnings', 'error'].includes(k))).toBe(true);
    });
  }

  test('submit: the job goes under result; a failing job is exit 1 with the job in result', async () => {
    const r = await cli(['submit', 'examples/hello.py', '--api-url', deadUrl, '--json']);
    const doc = JSON.parse(r.stdout);
    expect(typeof doc.status).toBe('number');
    expect(doc.error.code).toBe('API_UNREACHABLE');
  });

  test("text-mode notes are in the envelope's warnings", async () => {
    const text = await cli(['tune', 'pool', ...facts]);
    const json = await cli(['tune', 'pool', ...facts, '--json']);
    const warnings: string[] = JSON.parse(json.stdout).warnings;
    // Every message text mode wrote to stderr is a warning of the envelope, and nothing else is.
    const flat = text.stderr.replace(/\s+/g, ' ');
    expect(warnings.length).toBeGreaterThan(2);
    for (const w of warnings) expect(flat).toContain(w.replace(/\s+/g, ' '));
    const messages = text.stderr.split('\n').filter((l) => /^\S/.test(l));
    expect(messages.length).toBe(warnings.length);
  });
});

describe('exit 2 for usage errors, with and without --json', () => {
  test.each(manifestCommands().map((id) => [id]))(
    'an unknown flag on %s: one line and a hint, exit 2',
    async (id) => {
      const words = id.split(':');
      const text = await cli([...words, '--no-such-flag']);
      expect(text.exitCode).toBe(2);
      expect(text.stderr.trim().split('\n')[0]).toMatch(/^Error: Nonexistent flag: --no-such-flag/);
      expect(text.stderr).toMatch(/^Hint: /m);
      expect(text.stderr).not.toMatch(/USAGE|FLAGS/); // not the whole help page
      if (SERVERS.includes(id)) return;
      const json = await cli([...words, '--no-such-flag', '--json']);
      expect(json.exitCode).toBe(2);
      expect(JSON.parse(json.stdout).error.exitCode).toBe(2);
    },
  );

  test.each([
    [['tune', 'pool', '--cpus', '0']],
    [['tune', 'pool', '--cpus', '99999999999999999999']],
    [['tune', 'pool', '--memory', '0']],
    [['tune', 'pool', '--memory', '1']],
    [['tune', 'pool', '--max-connections', '300000']],
    [['tune', 'prefetch', '--p50-ms', '200', '--p99-ms', '100']],
    [['tune', 'prefetch', '--p50', '200ms', '--p99', '100ms']],
    [['tune', 'prefetch', '--p50', '1', '--p99', '500ms']],
    [['tune', 'prefetch', '--p50', '40ms']],
    [['tune', 'prefetch', '--p50', '40ms', '--p50-ms', '40', '--p99', '1s']],
    [['submit', 'examples/hello.py', '--time-limit', '11s']],
    [['tune', 'redis', '--keys', '99999999999999999999']],
    [['bench', 'compare', 'a.json', 'b.json', '--error-tolerance', '150']],
    [['submit', 'examples/hello.py', '--timeout', '1x']],
    [['diagnose', '--timeout', 'soon']],
    [['logs', 'nosuchservice']],
    [['tune', 'pool', '--write']],
  ])('%j', async (args) => {
    const text = await cli(args);
    expect(text.exitCode).toBe(2);
    expect(text.stderr).not.toMatch(/unexpected error|this is a bug/);
    const json = await cli([...args, '--json']);
    expect(json.exitCode).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect([doc.status, doc.error.exitCode, doc.error.code]).toEqual([2, 2, 'USAGE']);
  });

  test('Ctrl-C exits 130 (logs --follow)', async () => {
    const p = cliProcess(['logs', 'api', '--follow', ...stack]);
    // Once the last lines are out, it is following.
    await new Promise<void>((resolve) => {
      let seen = '';
      p.stdout?.on('data', (d: Buffer) => {
        seen += String(d);
        if (seen.includes('api: ready')) resolve();
      });
    });
    p.kill('SIGINT');
    const r = await p;
    expect(r.stdout).toContain('api: ready');
    expect(r.exitCode).toBe(130);
  });
});

describe('text fits 80 columns', () => {
  for (const [id, { args }] of Object.entries(invocations())) {
    test(id, async () => {
      cleanOut();
      const r = await cli(args, { env: { COLUMNS: '80' } });
      const wide = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.length > 80);
      expect(wide).toEqual([]);
    });
  }

  test('-o wide keeps cells whole', async () => {
    const narrow = await cli(['tune', 'pool', ...facts], { env: { COLUMNS: '80' } });
    const wide = await cli(['tune', 'pool', ...facts, '-o', 'wide'], { env: { COLUMNS: '80' } });
    expect(narrow.stdout).not.toMatch(/^STATUS .* REASON/m);
    expect(wide.stdout).toMatch(/^STATUS .* REASON .* SOURCE$/m);
    expect(Math.max(...wide.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(80);
  });

  test('what changes comes first; the facts only with --facts', async () => {
    const r = await cli(['tune', 'pool', ...facts, ...pod]);
    const statuses = r.stdout
      .split('\n')
      .map((l) => /^(change|new|info|ok)\s/.exec(l)?.[1])
      .filter(Boolean);
    const rank = { change: 0, new: 1, info: 2, ok: 3 } as Record<string, number>;
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.map((s) => rank[s!])).toEqual([...statuses.map((s) => rank[s!])].sort());
    expect(r.stdout).not.toMatch(/^FACT\s+VALUE\s+FROM/m);
    const withFacts = await cli(['tune', 'pool', ...facts, ...pod, '--facts']);
    expect(withFacts.stdout).toMatch(/^FACT\s+VALUE\s+FROM/m);
  });
});

describe('oclif conventions', () => {
  test('help, -h, --version, -v', async () => {
    const help = await cli(['help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^COMMANDS/m);
    const h = await cli(['tune', 'pool', '-h']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toMatch(/^USAGE/m);
    for (const flag of ['--version', '-v']) {
      const v = await cli([flag]);
      expect(v.stdout).toMatch(/^sentinel-ctl\/\d+\.\d+\.\d+ /);
    }
  });

  test.each([
    ['dianose', 'diagnose'],
    ['tune pol', 'tune pool'],
  ])('"%s" suggests "%s" and exits 2', async (typed, meant) => {
    const r = await cli(typed.split(' '));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`Did you mean \`sentinel-ctl ${meant}\`?`);
    expect(r.stderr).not.toContain(':pol');
  });

  test('a mistyped flag suggests the right one', async () => {
    const r = await cli(['tune', 'pool', '--cpu', '2']);
    expect(r.stderr).toContain('Did you mean --cpus?');
  });

  test('shell completion is there', async () => {
    const r = await cli(['autocomplete', 'bash']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('sentinel-ctl');
  });

  test('no short flag means two things across commands', () => {
    const m = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8'));
    const meaning = new Map<string, Set<string>>();
    for (const c of Object.values(m.commands) as Array<{ flags: Record<string, { char?: string }> }>) {
      for (const [name, f] of Object.entries(c.flags)) {
        if (f.char) meaning.set(f.char, new Set([...(meaning.get(f.char) ?? []), name]));
      }
    }
    const twice = [...meaning].filter(([, names]) => names.size > 1).map(([c, n]) => `-${c}: ${[...n]}`);
    expect(twice).toEqual([]);
    expect([...(meaning.get('s') ?? [])]).toEqual(['services']);
  });

  test("tune subcommands list only their own flags; bench compare's tolerances are both percent", async () => {
    const redis = (await cli(['tune', 'redis', '--help'])).stdout;
    expect(redis).toContain('--keys');
    expect(redis).not.toMatch(/--cpus|--max-connections|--p50|--api-replicas/);
    const prefetch = (await cli(['tune', 'prefetch', '--help'])).stdout;
    expect(prefetch).toContain('--p99=<duration>');
    // The old milliseconds spellings still work but are not offered.
    expect(prefetch).not.toMatch(/--p50-ms|--p99-ms/);
    expect(prefetch).not.toMatch(/--cpus|--max-connections|--keys/);
    const pool = (await cli(['tune', 'pool', '--help'])).stdout;
    expect(pool).not.toMatch(/--p50|--keys/);
    const compare = (await cli(['bench', 'compare', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(compare).toMatch(/--tolerance=<percent>/);
    expect(compare).toMatch(/--error-tolerance=<percent>/);
  });

  test('help shows the unit of every duration flag', async () => {
    for (const args of [['submit'], ['diagnose'], ['bench'], ['tune', 'pool']]) {
      const help = (await cli([...args, '--help'])).stdout;
      expect(help, args.join(' ')).toMatch(/--timeout=<duration>/);
    }
    for (const [args, flag] of [
      [['submit'], '--time-limit'],
      [['generate', 'nsjail'], '--time-limit'],
      [['tune', 'prefetch'], '--p50'],
      [['tune', 'check'], '--p99'],
    ] as const) {
      const help = (await cli([...args, '--help'])).stdout;
      expect(help, args.join(' ')).toContain(`${flag}=<duration>`);
      expect(help, args.join(' ')).not.toContain(`${flag}-ms`);
    }
  });

  test('no flag whose value is a duration takes raw milliseconds or seconds (other than hidden, deprecated ones)', () => {
    const m = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8'));
    const offenders: string[] = [];
    for (const [id, c] of Object.entries(m.commands) as Array<
      [
        string,
        { flags: Record<string, { hidden?: boolean; helpValue?: string; summary?: string; type: string }> },
      ]
    >) {
      for (const [name, f] of Object.entries(c.flags)) {
        if (f.hidden || f.type !== 'option') continue;
        const unitInName = /-(ms|s|sec|secs|seconds|millis|minutes?)$/.test(name);
        const durationWords = /\b(timeout|interval|duration|period|limit|delay|wait|p50|p99)\b/.test(name);
        if (
          unitInName ||
          (durationWords && f.helpValue !== '<duration>' && !/kb|bytes|connections/.test(name))
        )
          offenders.push(`${id} --${name}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('every --help fits 80 columns at COLUMNS=80 (commands, topics, the root)', async () => {
    const topics = ['tune', 'generate', 'audit', 'config', 'bench'];
    const all = [...manifestCommands().map((id) => id.split(':')), ...topics.map((t) => [t]), []];
    const wide: string[] = [];
    for (const args of all) {
      const r = await cli([...args, '--help'], { env: { COLUMNS: '80' } });
      expect(r.exitCode, args.join(' ')).toBe(0);
      for (const l of r.stdout.split('\n')) if ([...l].length > 80) wide.push(`${args.join(' ')}: ${l}`);
    }
    expect(wide).toEqual([]);
  });

  test('NO_COLOR and --no-color: no escape sequences anywhere', async () => {
    for (const args of [['help'], ['tune', 'pool', ...facts], ['dianose'], ['tune', 'pool', '--bogus']]) {
      const r = await cli([...args, '--no-color'], { env: { FORCE_COLOR: '1' } });
      expect(`${r.stdout}${r.stderr}`).not.toContain('\u001b[');
    }
  });
});

describe('durations: one syntax, a bare number is seconds', () => {
  test('--p50/--p99 take durations; the deprecated --p50-ms/--p99-ms take ms and warn (text and --json)', async () => {
    type R = { facts: Array<{ name: string; value: string }> };
    const exec = (r: { json: { result: R } }) =>
      r.json.result.facts.find((f) => f.name === 'execution')?.value;
    const now = await cliJson<R>(['tune', 'prefetch', '--p50', '250ms', '--p99', '2']);
    const old = await cliJson<R>(['tune', 'prefetch', '--p50-ms', '250', '--p99-ms', '2000']);
    expect(now.exitCode).toBe(0);
    expect(old.exitCode).toBe(0);
    // A bare number is seconds: --p99 2 is the same as --p99-ms 2000.
    expect(exec(now)).toBe(exec(old));
    expect(exec(now)).toMatch(/p50 250 ms, p99 2000 ms/);
    expect(now.json.warnings.filter((w) => w.includes('deprecated'))).toEqual([]);
    expect(old.json.warnings).toEqual(
      expect.arrayContaining([
        '--p50-ms is deprecated: use --p50 250ms (a bare number there means seconds).',
        '--p99-ms is deprecated: use --p99 2s (a bare number there means seconds).',
      ]),
    );
    const text = await cli(['tune', 'prefetch', '--p50-ms', '250', '--p99-ms', '2000']);
    expect(text.stderr).toContain('Warning: --p50-ms is deprecated: use --p50 250ms');
  });

  test('generate nsjail --time-limit 5s writes what the deprecated --time-limit-ms 5000 writes', async () => {
    const a = path.join(work, 'nsjail-new');
    const b = path.join(work, 'nsjail-old');
    const ra = await cli(['generate', 'nsjail', '--out', a, '--time-limit', '5s']);
    const rb = await cliJson(['generate', 'nsjail', '--out', b, '--time-limit-ms', '5000']);
    expect([ra.exitCode, rb.exitCode]).toEqual([0, 0]);
    expect(rb.json.warnings).toContain(
      '--time-limit-ms is deprecated: use --time-limit 5s (a bare number there means seconds).',
    );
    for (const f of readdirSync(a))
      expect(readFileSync(path.join(b, f), 'utf8'), f).toBe(readFileSync(path.join(a, f), 'utf8'));
    expect(readFileSync(path.join(a, 'python.cfg'), 'utf8')).toMatch(/time_limit: 5\b/);
  });

  test('bench -d 1 measures a second; the report says so', () => {
    const report = JSON.parse(readFileSync(benchReport, 'utf8'));
    expect(report.measuredMs).toBeGreaterThanOrEqual(950);
  });

  test('env vars and config keys take the same syntax', async () => {
    const env = await cli(['config', 'show', ...stack, '--json'], {
      env: { API_WRITE_TIMEOUT: '1m30s', API_READ_TIMEOUT: '30' },
    });
    const entries: Array<{ key: string; value: unknown }> = JSON.parse(env.stdout).result.entries;
    const value = (k: string) => entries.find((e) => e.key === k)?.value;
    expect([value('api.writeTimeoutMs'), value('api.readTimeoutMs')]).toEqual([90_000, 30_000]);
    const file = path.join(work, 'sentinel.config.yaml');
    writeFileSync(file, 'rabbitmq:\n  consumerTimeoutMs: 45m\n');
    const cfg = await cli(['config', 'show', ...stack, '--config', file, '--json']);
    const e2: Array<{ key: string; value: unknown }> = JSON.parse(cfg.stdout).result.entries;
    expect(e2.find((e) => e.key === 'rabbitmq.consumerTimeoutMs')?.value).toBe(45 * 60_000);
  });
});

describe('next commands carry the flags that selected the stack or the manifests', () => {
  test('status --check hints `up` and `logs` with --state-dir and --port-offset', async () => {
    const r = await cli(['status', '--check', ...stack]);
    expect(r.exitCode).toBe(1);
    const hint = r.stderr.replace(/\s*\n\s*/g, ' ');
    expect(hint).toContain(`sentinel-ctl up --state-dir ${stateDir} --port-offset ${OFFSET}`);
  });

  test("tune check's fixes name the command with --manifests and the facts", async () => {
    const r = await cli(['tune', 'check', ...facts, ...pod, '--json']);
    const fixes: string[] = JSON.parse(r.stdout).result.findings.map((f: { fix: string }) => f.fix);
    expect(fixes.length).toBeGreaterThan(0);
    for (const fix of fixes) {
      expect(fix).toMatch(/sentinel-ctl tune \w+ /);
      expect(fix).toContain(`--manifests ${manifests}`);
      expect(fix).toContain('--cpus 4 --memory 8Gi');
    }
  });
});

describe('dry runs and diffs', () => {
  test('--dry-run --exit-code exits 1 while changes are pending; git apply takes the diff; then 0', async () => {
    const dir = path.join(work, 'apply');
    mkdirSync(path.join(dir, 'k8s'), { recursive: true });
    for (const f of ['worker.yaml', 'postgres.yaml', 'keda.yaml', 'config.yaml']) {
      cpSync(path.join(manifests, f), path.join(dir, 'k8s', f));
    }
    const args = ['tune', 'pool', '--manifests', 'k8s', '--profile', 'prod', ...pod];
    const dry = await cli([...args, '--dry-run', '--exit-code'], { cwd: dir });
    expect(dry.exitCode).toBe(1);
    expect(dry.stdout).toMatch(/^--- a\/k8s\/worker\.yaml$/m);
    expect(dry.stdout).toMatch(/^\+\+\+ b\/k8s\/worker\.yaml$/m);
    writeFileSync(path.join(dir, 'change.patch'), `${dry.stdout}\n`); // execa strips the last newline
    execFileSync('git', ['apply', 'change.patch'], { cwd: dir });
    const again = await cli([...args, '--dry-run', '--exit-code'], { cwd: dir });
    expect(again.exitCode).toBe(0);
  });

  test('generate nsjail refuses to overwrite, as generate k8s does; --force overwrites', async () => {
    const out = path.join(work, 'nsjail-twice');
    expect((await cli(['generate', 'nsjail', '--out', out])).exitCode).toBe(0);
    writeFileSync(path.join(out, 'python.cfg'), 'mine\n');
    const again = await cli(['generate', 'nsjail', '--out', out]);
    expect(again.exitCode).toBe(2);
    expect(readFileSync(path.join(out, 'python.cfg'), 'utf8')).toBe('mine\n');
    expect((await cli(['generate', 'nsjail', '--out', out, '--force'])).exitCode).toBe(0);
    expect(readFileSync(path.join(out, 'python.cfg'), 'utf8')).not.toBe('mine\n');
  });

  test('a refused up leaves no new files behind', async () => {
    const fresh = path.join(work, 'refused-state');
    // Redis's port, taken by someone else.
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(6379 + OFFSET, '127.0.0.1', resolve));
    try {
      const r = await cli([
        'up',
        '--services',
        'redis',
        '--state-dir',
        fresh,
        '--port-offset',
        String(OFFSET),
      ]);
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain(`Port ${6379 + OFFSET}`);
      expect(existsSync(fresh) ? readdirSync(fresh) : []).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
