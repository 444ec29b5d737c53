import { describe, expect, test } from 'vitest';
import {
  buildSeccompFilter,
  CLONE_NAMESPACE_FLAGS,
  deniedSyscalls,
  kafelPolicy,
} from '../../../src/worker/sandbox/seccomp.js';
import { kafelVerdict, parseKafelPolicy } from './kafel.js';

const AUDIT_ARCH_X86_64 = 0xc000_003e;
const AUDIT_ARCH_I386 = 0x4000_0003;
const ALLOW = 0x7fff_0000;
const EPERM = 0x0005_0001;
const ENOSYS = 0x0005_0026;
const KILL_PROCESS = 0x8000_0000;

/** A classic-BPF interpreter for the four instruction kinds the filter uses, over seccomp_data. */
function evaluate(program: Buffer, data: { arch: number; nr: number; arg0?: bigint }): number {
  const mem = Buffer.alloc(64);
  mem.writeInt32LE(data.nr, 0);
  mem.writeUInt32LE(data.arch, 4);
  mem.writeBigUInt64LE(data.arg0 ?? 0n, 16);
  let acc = 0;
  for (let pc = 0, steps = 0; pc < program.length / 8 && steps < 1000; pc++, steps++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) acc = mem.readUInt32LE(k);
    else if (code === 0x06) return k;
    else if (code === 0x15) pc += acc === k ? jt : jf;
    else if (code === 0x35) pc += acc >>> 0 >= k ? jt : jf;
    else if (code === 0x45) pc += (acc & k) !== 0 ? jt : jf;
    else throw new Error(`unexpected BPF opcode 0x${code.toString(16)} at ${pc}`);
  }
  throw new Error('program fell off its end');
}

describe('seccomp filter (x86_64 classic BPF)', () => {
  const program = buildSeccompFilter('x64');
  const nr = (name: string) => deniedSyscalls.find((s) => s.name === name)?.nr ?? -1;

  test('is a whole number of 8-byte sock_filter entries, within the kernel limit of 4096', () => {
    expect(program.length % 8).toBe(0);
    expect(program.length / 8).toBe(deniedSyscalls.length + 13);
    expect(program.length / 8).toBeLessThan(4096);
  });

  test.each(deniedSyscalls.map((s) => [s.name, s.nr]))('refuses %s (%i) with EPERM', (_name, number) => {
    expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: number })).toBe(EPERM);
  });

  test.each([
    ['read', 0],
    ['write', 1],
    ['openat', 257],
    ['mmap', 9],
    ['execve', 59],
    ['exit_group', 231],
    ['socket', 41],
    ['kill', 62],
    ['fork', 57],
  ])('allows %s (%i)', (_name, number) => {
    expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: number })).toBe(ALLOW);
  });

  test.each([
    ['a thread (CLONE_VM|CLONE_THREAD|...)', 0x3d0f00n, ALLOW],
    ['a plain fork (SIGCHLD)', 17n, ALLOW],
    ['CLONE_NEWUSER', 0x1000_0000n | 17n, EPERM],
    ['CLONE_NEWNS', 0x0002_0000n, EPERM],
    ['CLONE_NEWNET', 0x4000_0000n, EPERM],
    ['CLONE_NEWPID', 0x2000_0000n, EPERM],
    ['CLONE_NEWCGROUP', 0x0200_0000n, EPERM],
    ['high bits only (not namespace flags)', 0xffff_ffff_0000_0000n, ALLOW],
  ])('clone with %s', (_what, flags, verdict) => {
    expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: 56, arg0: flags })).toBe(verdict);
  });

  test('answers clone3 with ENOSYS so that glibc falls back to clone', () => {
    expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: 435 })).toBe(ENOSYS);
  });

  test('kills on the x32 ABI and 32-bit calls, whose numbers would slip past the list (as Kafel does)', () => {
    expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: 0x4000_0000 + 101 })).toBe(KILL_PROCESS);
    expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: 0x4000_0000 + 1 })).toBe(KILL_PROCESS);
    expect(evaluate(program, { arch: AUDIT_ARCH_I386, nr: 26 })).toBe(KILL_PROCESS);
  });

  test('namespace mask is exactly the seven CLONE_NEW* flags clone(2) accepts', () => {
    const flags = [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000];
    expect(flags.reduce((a, b) => a | b, 0)).toBe(CLONE_NAMESPACE_FLAGS);
  });

  test('the list names each syscall once, with the x86_64 numbers of the kernel table', () => {
    expect(new Set(deniedSyscalls.map((s) => s.name)).size).toBe(deniedSyscalls.length);
    expect(new Set(deniedSyscalls.map((s) => s.nr)).size).toBe(deniedSyscalls.length);
    expect([nr('ptrace'), nr('mount'), nr('umount2'), nr('unshare'), nr('setns'), nr('bpf')]).toEqual([
      101, 165, 166, 272, 308, 321,
    ]);
  });

  test('refuses to build for an architecture without a syscall table', () => {
    expect(() => buildSeccompFilter('arm64')).toThrow('no syscall table for arm64');
  });
});

describe('kafelPolicy (nsjail seccomp_string)', () => {
  const policy = kafelPolicy();
  const rules = parseKafelPolicy(policy);

  test('is one line: x32 forms killed, clone3 ENOSYS, the list and clone namespace flags EPERM, DEFAULT ALLOW', () => {
    expect(policy).not.toContain('\n');
    expect(policy.startsWith('KILL_PROCESS { SYSCALL[0x40000065] /* x32 ptrace */, ')).toBe(true);
    expect(policy).toContain(' ERRNO(38) { SYSCALL[435] /* clone3 */ } ');
    expect(policy).toContain(
      ' ERRNO(1) { clone { (clone_flags & 0x7e020000) != 0 }, SYSCALL[101] /* ptrace */, ',
    );
    expect(policy.endsWith(' } DEFAULT ALLOW')).toBe(true);
    expect(rules.defaultAction).toBe('ALLOW');
  });

  test('names calls by number, so a Kafel without io_uring or the new mount API in its table takes it', () => {
    for (const name of [
      'io_uring_setup',
      'fsopen',
      'fsmount',
      'move_mount',
      'open_tree',
      'fspick',
      'fsconfig',
    ]) {
      expect(policy).toMatch(new RegExp(`SYSCALL\\[\\d+\\] /\\* ${name} \\*/`));
    }
    expect(policy).not.toMatch(/[{,] (io_uring_setup|fsopen|pidfd_getfd|quotactl_fd)\b/);
  });

  test.each([
    ['clone3', 435, 'ERRNO(38)'],
    ['io_uring_setup', 425, 'ERRNO(1)'],
    ['fsopen', 430, 'ERRNO(1)'],
    ['fsmount', 432, 'ERRNO(1)'],
    ['move_mount', 429, 'ERRNO(1)'],
    ['open_tree', 428, 'ERRNO(1)'],
    ['fspick', 433, 'ERRNO(1)'],
    ['fsconfig', 431, 'ERRNO(1)'],
    ['pidfd_getfd', 438, 'ERRNO(1)'],
    ['quotactl_fd', 443, 'ERRNO(1)'],
    ['read', 0, 'ALLOW'],
    ['x32 ptrace (x32-only number)', 0x4000_0000 + 521, 'KILL_PROCESS'],
    ['x32 unshare', 0x4000_0000 + 272, 'KILL_PROCESS'],
  ])('Kafel answers %s (%i) with %s', (_name, number, action) => {
    expect(kafelVerdict(rules, { nr: number })).toBe(action);
  });
});

/** The two renderings as verdicts of one kind: allowed, refused with an errno, or killed. */
function bpfAs(value: number): string {
  if (value === ALLOW) return 'ALLOW';
  if (value === KILL_PROCESS) return 'KILL_PROCESS';
  if ((value & 0xffff_0000) === 0x0005_0000) return `ERRNO(${value & 0xffff})`;
  return `0x${value.toString(16)}`;
}

describe('one table, two filters: what one refuses the other refuses (same answer)', () => {
  const program = buildSeccompFilter('x64');
  const rules = parseKafelPolicy(kafelPolicy());
  const x86_64 = Array.from({ length: 1024 }, (_, n) => n);

  test('every x86_64 syscall number 0..1023 gets the same verdict from both', () => {
    const differ = x86_64
      .map((nr) => ({
        nr,
        bpf: bpfAs(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr })),
        kafel: kafelVerdict(rules, { nr }),
      }))
      .filter((v) => v.bpf !== v.kafel);
    expect(differ).toEqual([]);
    const refused = x86_64.filter((nr) => kafelVerdict(rules, { nr }) !== 'ALLOW');
    expect(refused.length).toBe(deniedSyscalls.length + 1); // + clone3
  });

  test.each([
    ['a thread', 0x3d0f00n],
    ['a fork', 17n],
    ['CLONE_NEWUSER', 0x1000_0000n | 17n],
    ['CLONE_NEWNET', 0x4000_0000n],
    ['CLONE_NEWCGROUP', 0x0200_0000n],
  ])('clone with %s: same verdict', (_what, flags) => {
    expect(kafelVerdict(rules, { nr: 56, arg0: flags })).toBe(
      bpfAs(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr: 56, arg0: flags })),
    );
  });

  test('every x32 form Kafel kills, BPF kills (BPF kills all of x32; Kafel has no ranges)', () => {
    const x32 = Array.from({ length: 1024 }, (_, n) => 0x4000_0000 + n);
    const kafelKills = x32.filter((nr) => kafelVerdict(rules, { nr }) === 'KILL_PROCESS');
    expect(kafelKills.length).toBe(deniedSyscalls.length + deniedSyscalls.filter((s) => s.x32).length);
    for (const nr of kafelKills)
      expect(evaluate(program, { arch: AUDIT_ARCH_X86_64, nr })).toBe(KILL_PROCESS);
    for (const s of deniedSyscalls)
      expect(kafelVerdict(rules, { nr: 0x4000_0000 | s.nr })).toBe('KILL_PROCESS');
  });

  test('i386: Kafel (compiled for x86_64 only) kills, and so does BPF', () => {
    expect(kafelVerdict(rules, { nr: 26, arch: 'i386' })).toBe('KILL_PROCESS');
    expect(bpfAs(evaluate(program, { arch: AUDIT_ARCH_I386, nr: 26 }))).toBe('KILL_PROCESS');
  });
});
