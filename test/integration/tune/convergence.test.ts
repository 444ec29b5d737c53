/**
 * Convergence (issue 13): applying every `--write` fix that `tune check` names leaves `tune check`
 * clean on the same inputs, for each fixture manifest set; and the KEDA trigger fix on an amqp://
 * Secret (derive the management API URL, add it as a new Secret key, repoint the
 * TriggerAuthentication, protocol http). Runs the built binary on private copies of the fixtures.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { cli, cliJson, repoRoot } from '../../helpers/cli.js';

const FIXTURES = path.join(repoRoot, 'test/fixtures/manifests');
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-tune-convergence-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Each loadable fixture set: the folder to copy and the path inside it that --manifests names. */
const SETS: Array<[string, string]> = [
  ['sentinel', '.'],
  ['styles', '.'],
  ['refusals', '.'],
  ['kustomize', 'overlays/prod'],
  ['kustomize-hidden', 'overlays/staging'],
];

interface CheckResult {
  findings: Array<{ id: string; severity: string; fix: string }>;
}

function copy(set: string): string {
  const dir = mkdtempSync(path.join(work, `${set}-`));
  cpSync(path.join(FIXTURES, set), dir, { recursive: true });
  return dir;
}

/** The command each finding's fix names first (the `(sentinel-ctl tune … --write …)` part). */
function fixCommands(r: CheckResult): string[][] {
  const out = new Set<string>();
  for (const f of r.findings) {
    const m = /\(sentinel-ctl (tune [^)]*--write[^)]*)\)/.exec(f.fix);
    expect(m, `finding ${f.id} names no --write command: ${f.fix}`).not.toBeNull();
    out.add(m![1]!);
  }
  return [...out].map((c) => c.split(/\s+/));
}

describe('tune check converges', () => {
  test('every fixture set (other than the malformed ones, which are refused) is covered', () => {
    const sets = readdirSync(FIXTURES, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.endsWith('.golden') && d.name !== 'malformed')
      .map((d) => d.name)
      .sort();
    expect(sets).toEqual(SETS.map(([s]) => s).sort());
  });

  test.each(SETS)('%s: after the named --write fixes, tune check is clean', async (set, sub) => {
    const dir = path.join(copy(set), sub);
    const applied: string[] = [];
    // Each round applies the fixes the check names; two rounds at most (a fix may reveal another).
    for (let round = 0; round < 3; round++) {
      const r = await cliJson<CheckResult>(['tune', 'check', '--manifests', dir]);
      if (r.exitCode === 0) {
        expect(r.json.result.findings).toEqual([]);
        break;
      }
      expect(r.exitCode, r.stderr).toBe(1);
      expect(round, `still failing after ${applied.join('; ')}`).toBeLessThan(2);
      for (const cmd of fixCommands(r.json.result)) {
        const w = await cli(cmd);
        expect(w.exitCode, `${cmd.join(' ')}: ${w.stderr}`).toBe(0);
        applied.push(cmd.slice(0, 2).join(' '));
      }
    }
    const final = await cli(['tune', 'check', '--manifests', dir]);
    expect(final.exitCode, final.stdout + final.stderr).toBe(0);
    expect(final.stdout).toMatch(/^No contradictions found/);
    if (set === 'sentinel') expect(applied.sort()).toEqual(['tune keda', 'tune pool']);
  });
});

describe('tune keda --write on a trigger whose host is an amqp:// Secret', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const AMQP = 'amqp://sentinel:r4bbit-pw@rabbitmq.sentinel.svc:5672/';
  const HTTP = 'http://sentinel:r4bbit-pw@rabbitmq.sentinel.svc:15672/%2F';

  test('the check names the trap and tune keda as its fix', async () => {
    const r = await cliJson<CheckResult>(['tune', 'check', '--manifests', path.join(FIXTURES, 'sentinel')]);
    expect(r.exitCode).toBe(1);
    const f = r.json.result.findings.find((x) => x.id === 'keda-trigger-protocol');
    expect(f?.severity).toBe('error');
    expect(f?.fix).toMatch(/sentinel-ctl tune keda --write --manifests /);
  });

  test('adds the management URL as a new key, repoints the TriggerAuthentication, sets protocol http', async () => {
    const dir = copy('sentinel');
    const secretsBefore = readFileSync(path.join(dir, 'secrets.yaml'), 'utf8');
    const kedaBefore = readFileSync(path.join(dir, 'keda.yaml'), 'utf8');
    const dry = await cli(['tune', 'keda', '--dry-run', '--manifests', dir]);
    expect(dry.exitCode).toBe(0);
    // The diff shows the new key, with the password masked, and says it is masked.
    expect(dry.stdout).toContain(
      '+  management-host: <base64: http://sentinel:****@rabbitmq.sentinel.svc:15672/%2F>',
    );
    expect(dry.stdout).toContain('-    key: host\n+    key: management-host');
    expect(dry.stdout).toContain('-      protocol: amqp\n+      protocol: http');
    expect(dry.stdout).not.toContain('r4bbit-pw');
    expect(dry.stdout).not.toContain(b64(HTTP));
    expect(readFileSync(path.join(dir, 'secrets.yaml'), 'utf8')).toBe(secretsBefore);

    const w = await cli(['tune', 'keda', '--write', '--manifests', dir]);
    expect(w.exitCode, w.stderr).toBe(0);
    const secretsAfter = readFileSync(path.join(dir, 'secrets.yaml'), 'utf8');
    // Exactly one line added, right after the Secret's last data key; every other byte as it was.
    const hostLine = `  host: ${b64(AMQP)}\n  ca.crt: AAFiaW5hcnk=\n`;
    expect(secretsBefore).toContain(hostLine);
    expect(secretsAfter).toBe(
      secretsBefore.replace(hostLine, `${hostLine}  management-host: ${b64(HTTP)}\n`),
    );
    expect(readFileSync(path.join(dir, 'keda.yaml'), 'utf8')).toBe(
      kedaBefore.replace('protocol: amqp', 'protocol: http').replace('key: host', 'key: management-host'),
    );
    const again = await cli(['tune', 'keda', '--write', '--manifests', dir]);
    expect(again.stderr).toContain('Nothing to change');
  });

  test('a TriggerAuthentication shared with another ScaledObject is not repointed: a warning says why', async () => {
    const dir = copy('sentinel');
    const other = `---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: reports-worker
  namespace: sentinel
spec:
  scaleTargetRef:
    name: reports-worker
  triggers:
  - type: rabbitmq
    metadata:
      protocol: amqp
      queueName: reports
      value: "5"
    authenticationRef:
      name: rabbitmq-auth
`;
    writeFileSync(path.join(dir, 'keda.yaml'), readFileSync(path.join(dir, 'keda.yaml'), 'utf8') + other);
    const secretsBefore = readFileSync(path.join(dir, 'secrets.yaml'), 'utf8');
    const w = await cli(['tune', 'keda', '--write', '--manifests', dir, '--json']);
    expect(w.exitCode, w.stderr).toBe(0);
    const doc = JSON.parse(w.stdout);
    expect(doc.warnings.join('\n')).toMatch(
      /TriggerAuthentication rabbitmq-auth is also used by ScaledObject reports-worker.*own/,
    );
    // The Secret untouched, the reference and both protocols as they were.
    expect(readFileSync(path.join(dir, 'secrets.yaml'), 'utf8')).toBe(secretsBefore);
    const keda = readFileSync(path.join(dir, 'keda.yaml'), 'utf8');
    expect(keda).toContain('    key: host\n');
    expect(keda).not.toContain('management-host');
    expect(keda.match(/protocol: amqp/g)).toHaveLength(2);
  });
});

describe('masked diffs are marked; --show-secrets prints a diff git apply accepts', () => {
  const git = (cwd: string, args: string[]) => execa('git', args, { cwd, reject: false, stdin: 'ignore' });
  const files = ['keda.yaml', 'secrets.yaml'];

  test('the default diff marks the masked file, warns (text and --json), and git apply refuses it', async () => {
    const dir = copy('sentinel');
    const r = await cli(['tune', 'keda', '--dry-run', '--manifests', '.'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    // The marker sits right before the masked file's header, and only there.
    expect(r.stdout.match(/^# MASKED: .*$/gm)).toHaveLength(1);
    expect(r.stdout).toMatch(/^# MASKED: .*\n--- a\/secrets\.yaml$/m);
    expect(r.stderr.replace(/\s*\n\s*/g, ' ')).toContain(
      'Warning: The diff of secrets.yaml masks secret values (****), so it is for reading and does not apply with git apply; --show-secrets prints the real values',
    );
    const j = await cliJson<{ write: { files: Array<{ file: string; masked: boolean }> } }>(
      ['tune', 'keda', '--dry-run', '--manifests', '.'],
      { cwd: dir },
    );
    expect(j.json.result.write.files.map((f) => [f.file, f.masked])).toEqual([
      ['keda.yaml', false],
      ['secrets.yaml', true],
    ]);
    expect(j.json.warnings.some((w) => w.startsWith('The diff of secrets.yaml masks secret values'))).toBe(
      true,
    );
    expect(JSON.stringify(j.json)).not.toContain('r4bbit-pw');
    expect((await git(dir, ['init', '-q', '.'])).exitCode).toBe(0);
    // execa strips the last newline of stdout; the file gets it back.
    writeFileSync(path.join(work, 'masked.diff'), `${r.stdout}\n`);
    const check = await git(dir, ['apply', '--check', path.join(work, 'masked.diff')]);
    expect(check.exitCode).not.toBe(0);
    expect(String(check.stderr)).toContain('secrets.yaml');
  });

  test('--show-secrets: no marker, no warning, and git apply gives the bytes --write writes', async () => {
    const viaApply = copy('sentinel');
    const viaWrite = copy('sentinel');
    const r = await cli(['tune', 'keda', '--dry-run', '--show-secrets', '--manifests', '.'], {
      cwd: viaApply,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain('MASKED');
    expect(r.stdout).toContain(
      `+  management-host: ${Buffer.from('http://sentinel:r4bbit-pw@rabbitmq.sentinel.svc:15672/%2F').toString('base64')}`,
    );
    expect(r.stderr).not.toContain('masks secret values');
    writeFileSync(path.join(work, 'raw.diff'), `${r.stdout}\n`);
    expect((await git(viaApply, ['init', '-q', '.'])).exitCode).toBe(0);
    const applied = await git(viaApply, ['apply', path.join(work, 'raw.diff')]);
    expect(applied.exitCode, String(applied.stderr)).toBe(0);
    expect((await cli(['tune', 'keda', '--write', '--manifests', '.'], { cwd: viaWrite })).exitCode).toBe(0);
    for (const f of files) {
      expect(readFileSync(path.join(viaApply, f), 'utf8'), f).toBe(
        readFileSync(path.join(viaWrite, f), 'utf8'),
      );
    }
    expect(readFileSync(path.join(viaApply, 'keda.yaml'), 'utf8')).toContain('key: management-host');
  });
});
