import { describe, expect, test } from 'vitest';
import { AUDIT_MEMORY_LIMIT_KB, BOMB_TIME_LIMIT_MS, code } from '../../../src/audit/attacks/prelude.js';
import { buildCatalogue } from '../../../src/audit/catalogue.js';
import { attackById, catalogue, ctx } from './fixtures.js';

describe('the attack catalogue', () => {
  test('32 attacks, 13 of them in C++, ids unique', () => {
    expect(catalogue).toHaveLength(32);
    expect(catalogue.filter((a) => a.language === 'cpp')).toHaveLength(13);
    expect(new Set(catalogue.map((a) => a.id)).size).toBe(catalogue.length);
  });

  test('covers every attack the issue names, in submission order (long resource attacks first)', () => {
    expect(catalogue.map((a) => `${a.category}/${a.id}/${a.language}`)).toEqual([
      'resources/res-fork-bomb/cpp',
      'resources/res-thread-bomb/cpp',
      'resources/res-memory-bomb/python',
      'resources/res-memory-split/cpp',
      'resources/res-disk-fill/python',
      'resources/res-infinite-loop/python',
      'resources/res-output-flood/python',
      'network/net-tcp-stack/python',
      'network/net-udp/python',
      'network/net-dns/python',
      'network/net-raw-sockets/cpp',
      'network/net-interfaces/python',
      'network/net-unix-sockets/python',
      'secrets/secrets-host-files/python',
      'secrets/secrets-compile-include/cpp',
      'secrets/secrets-environment/python',
      'secrets/secrets-symlinks/python',
      'filesystem/fs-write-outside/python',
      'filesystem/fs-proc-sys/python',
      'filesystem/fs-devices/python',
      'privilege/priv-uid/cpp',
      'privilege/priv-setuid/cpp',
      'privilege/priv-chroot/python',
      'privilege/priv-mount/cpp',
      'privilege/priv-ptrace/cpp',
      'privilege/priv-kernel-surface/cpp',
      'privilege/priv-seccomp-bypass/cpp',
      'privilege/priv-hostname/python',
      'processes/proc-host-processes/cpp',
      'processes/proc-inherited-fds/python',
      'processes/proc-outlive-job/python',
      'processes/proc-kill-all/cpp',
    ]);
  });

  test('limits: what only the wall clock stops gets the short one, nothing exceeds the API maximum', () => {
    const byLimit = Object.fromEntries(catalogue.map((a) => [a.id, a.timeLimitMs]));
    expect(catalogue.filter((a) => a.timeLimitMs === BOMB_TIME_LIMIT_MS).map((a) => a.id)).toEqual([
      'res-fork-bomb',
      'res-infinite-loop',
    ]);
    expect(byLimit['res-memory-bomb']).toBe(5000);
    expect(byLimit['res-memory-split']).toBe(10_000);
    expect(byLimit['net-tcp-stack']).toBe(5000);
    expect(Math.max(...catalogue.map((a) => a.timeLimitMs))).toBe(10_000);
    expect(new Set(catalogue.map((a) => a.memoryLimitKb))).toEqual(new Set([AUDIT_MEMORY_LIMIT_KB]));
  });

  test('every program prints probe lines through the shared helpers', () => {
    for (const a of catalogue) {
      expect(
        a.source.startsWith(a.language === 'python' ? 'import errno, os, socket, sys' : '#include <cerrno>'),
      ).toBe(true);
      expect(a.source).toMatch(/\b(blocked|escaped|check)\(/);
    }
  });

  test("the stack's own ports, paths, pids, canaries and markers are written into the programs", () => {
    const tcp = attackById('net-tcp-stack').source;
    expect(tcp).toContain(
      'TARGETS = [["PostgreSQL",21432],["Redis",22379],["RabbitMQ AMQP",21672],["RabbitMQ management",31672],["API",24080],["worker metrics",25090],["host canary",40001]]',
    );
    expect(tcp).toContain("s.bind(('127.0.0.1', 24080))");
    expect(attackById('net-udp').source).toContain('PORT = 40002');
    expect(attackById('net-unix-sockets').source).toContain(
      '["abstract unix socket @sentinel-audit-0123456789ab (host canary)","\\u0000sentinel-audit-0123456789ab"]',
    );
    expect(attackById('secrets-host-files').source).toContain(
      '"/tmp/sentinel-it-x/state","/tmp/sentinel-it-x/state/credentials.json","/tmp/sentinel-it-x/sentinel.config.yaml"]',
    );
    expect(attackById('secrets-symlinks').source).toContain(
      '"/proc/1/root/tmp/sentinel-it-x/state/credentials.json"',
    );
    expect(attackById('secrets-environment').source).toContain('[["worker",4242],["API",4243]]');
    expect(attackById('proc-kill-all').source).toContain('hosts = {{"worker", 4242}, {"API", 4243}};');
    expect(attackById('priv-uid').source).toContain('prctl(PR_SET_NAME, "su-0123456789ab", 0, 0, 0);');
    expect(attackById('priv-uid').hostWatch).toBe('su-0123456789ab');
    expect(attackById('proc-outlive-job').source).toContain('MARK = "sd-0123456789ab"');
    expect(attackById('proc-outlive-job').hostWatch).toBe('sd-0123456789ab');
    expect(catalogue.filter((a) => a.hostWatch !== undefined).map((a) => a.id)).toEqual([
      'priv-uid',
      'proc-outlive-job',
    ]);
    expect(attackById('secrets-compile-include').source).toContain(
      '#if __has_include("/tmp/sentinel-it-x/state/credentials.json")\n#define SEEN_1 1',
    );
    expect(attackById('priv-hostname').source).toContain('HOST = "build-host-7"');
    expect(attackById('res-fork-bomb').source).toContain('const int limit = 64;');
    expect(attackById('res-disk-fill').source).toContain('LIMIT = 64');
  });

  test('the probe counts follow the context: without known pids the pid probes go', () => {
    const withPids = Object.fromEntries(catalogue.map((a) => [a.id, a.expect.blocked]));
    const without = Object.fromEntries(
      buildCatalogue({ ...ctx, workerPid: undefined, apiPid: undefined, configFile: undefined }).map((a) => [
        a.id,
        a.expect.blocked,
      ]),
    );
    const changed = Object.keys(withPids)
      .filter((id) => withPids[id] !== without[id])
      .map((id) => [id, withPids[id], without[id]]);
    expect(changed).toEqual([
      ['secrets-host-files', 10, 9],
      ['secrets-compile-include', 3, 2],
      ['secrets-environment', 5, 3],
      ['priv-ptrace', 7, 5],
      ['proc-host-processes', 4, 2],
      ['proc-kill-all', 4, 2],
    ]);
  });

  test('status expectations of the resource attacks', () => {
    const statuses = Object.fromEntries(
      catalogue.filter((a) => a.category === 'resources').map((a) => [a.id, a.expect.statuses]),
    );
    expect(statuses).toEqual({
      'res-fork-bomb': ['TIMEOUT', 'RUNTIME_ERROR'],
      'res-thread-bomb': ['SUCCESS', 'RUNTIME_ERROR', 'TIMEOUT'],
      'res-memory-bomb': ['MEMORY_LIMIT_EXCEEDED'],
      'res-memory-split': ['MEMORY_LIMIT_EXCEEDED'],
      'res-disk-fill': ['SUCCESS'],
      'res-infinite-loop': ['TIMEOUT'],
      'res-output-flood': ['RUNTIME_ERROR'],
    });
    expect(
      catalogue
        .filter((a) => a.category !== 'resources')
        .every((a) => a.expect.statuses.join() === 'SUCCESS'),
    ).toBe(true);
  });
});

describe('code (the template tag of program sources)', () => {
  test('keeps backslashes as written and interpolates values', () => {
    const n = 3;
    expect(code`printf("%d\n", ${n});`).toBe('printf("%d\\n", 3);');
  });
});
