/**
 * The syscall filter of the sandbox, in the spirit of nsjail's seccomp policies: everything is
 * allowed except calls that reach outside a jail (namespaces, mounts, tracing other processes) or
 * into the kernel's administration (modules, kexec, keys, clocks, swap, BPF, io_uring, perf).
 *
 * One table, two renderings, so the drivers cannot drift (README.md "Sandbox drivers"):
 * a classic-BPF program for bwrap's `--seccomp FD` (written here in TypeScript, so no compiler or
 * libseccomp is needed), and a Kafel policy for nsjail's `seccomp_string`. Both answer
 *   - a listed call with EPERM, as a Kafel `ERRNO(1)` block does, so programs see an ordinary error;
 *   - clone3 with ENOSYS (glibc then falls back to clone, whose flags a filter can read);
 *   - clone with a namespace flag with EPERM;
 *   - a call through a foreign ABI (i386 `int 0x80`, x32) by killing the process (SIGSYS): Kafel
 *     kills on an architecture it was not compiled for and cannot be told otherwise, so the BPF
 *     program does the same. The x32 ABI shares x86_64's audit arch with bit 30 set on the number;
 *     BPF kills every such call, Kafel (which has no ranges) the x32 forms of the listed calls.
 */

export interface DeniedSyscall {
  name: string;
  /** x86_64 syscall number (arch/x86/entry/syscalls/syscall_64.tbl; the ABI never renumbers). */
  nr: number;
  /** The call's x32-only number (512-547) where the x32 ABI has its own entry. */
  x32?: number;
  why: string;
}

export const deniedSyscalls: readonly DeniedSyscall[] = [
  // Looking into or driving other processes.
  { name: 'ptrace', nr: 101, x32: 521, why: 'tracing other processes' },
  { name: 'process_vm_readv', nr: 310, x32: 539, why: 'reading other processes' },
  { name: 'process_vm_writev', nr: 311, x32: 540, why: 'writing other processes' },
  { name: 'kcmp', nr: 312, why: 'comparing kernel objects of other processes' },
  { name: 'pidfd_getfd', nr: 438, why: 'stealing descriptors of other processes' },
  // Filesystems and namespaces: the jail's view of the world must stay as built.
  { name: 'mount', nr: 165, why: 'mounting' },
  { name: 'umount2', nr: 166, why: 'unmounting' },
  { name: 'pivot_root', nr: 155, why: 'changing the root' },
  { name: 'chroot', nr: 161, why: 'changing the root' },
  { name: 'open_tree', nr: 428, why: 'new mount API' },
  { name: 'move_mount', nr: 429, why: 'new mount API' },
  { name: 'fsopen', nr: 430, why: 'new mount API' },
  { name: 'fsconfig', nr: 431, why: 'new mount API' },
  { name: 'fsmount', nr: 432, why: 'new mount API' },
  { name: 'fspick', nr: 433, why: 'new mount API' },
  { name: 'mount_setattr', nr: 442, why: 'new mount API' },
  { name: 'setns', nr: 308, why: 'joining other namespaces' },
  { name: 'unshare', nr: 272, why: 'creating namespaces' },
  { name: 'open_by_handle_at', nr: 304, why: 'opening files by handle past the mount tree' },
  { name: 'name_to_handle_at', nr: 303, why: 'file handles' },
  { name: 'quotactl', nr: 179, why: 'disk quotas' },
  { name: 'quotactl_fd', nr: 443, why: 'disk quotas' },
  // The kernel itself.
  { name: 'kexec_load', nr: 246, x32: 528, why: 'loading a new kernel' },
  { name: 'kexec_file_load', nr: 320, why: 'loading a new kernel' },
  { name: 'init_module', nr: 175, why: 'loading kernel modules' },
  { name: 'finit_module', nr: 313, why: 'loading kernel modules' },
  { name: 'delete_module', nr: 176, why: 'unloading kernel modules' },
  { name: 'reboot', nr: 169, why: 'rebooting' },
  { name: 'swapon', nr: 167, why: 'swap' },
  { name: 'swapoff', nr: 168, why: 'swap' },
  { name: 'acct', nr: 163, why: 'process accounting' },
  { name: 'syslog', nr: 103, why: 'the kernel log' },
  { name: 'bpf', nr: 321, why: 'BPF programs' },
  { name: 'perf_event_open', nr: 298, why: 'performance counters (side channels)' },
  { name: 'userfaultfd', nr: 323, why: 'a classic exploit primitive' },
  { name: 'io_uring_setup', nr: 425, why: 'io_uring (a large attack surface)' },
  { name: 'io_uring_enter', nr: 426, why: 'io_uring' },
  { name: 'io_uring_register', nr: 427, why: 'io_uring' },
  { name: 'keyctl', nr: 250, why: 'kernel keyrings' },
  { name: 'add_key', nr: 248, why: 'kernel keyrings' },
  { name: 'request_key', nr: 249, why: 'kernel keyrings' },
  { name: 'lookup_dcookie', nr: 212, why: 'kernel profiling' },
  { name: 'fanotify_init', nr: 300, why: 'filesystem-wide monitoring' },
  { name: '_sysctl', nr: 156, why: 'kernel tunables' },
  { name: 'uselib', nr: 134, why: 'obsolete loader' },
  { name: 'nfsservctl', nr: 180, why: 'obsolete' },
  { name: 'vhangup', nr: 153, why: 'terminals' },
  { name: 'iopl', nr: 172, why: 'raw I/O ports' },
  { name: 'ioperm', nr: 173, why: 'raw I/O ports' },
  // Host-wide settings (clocks, names).
  { name: 'settimeofday', nr: 164, why: 'the system clock' },
  { name: 'clock_settime', nr: 227, why: 'the system clock' },
  { name: 'clock_adjtime', nr: 305, why: 'the system clock' },
  { name: 'adjtimex', nr: 159, why: 'the system clock' },
  { name: 'sethostname', nr: 170, why: 'the host name' },
  { name: 'setdomainname', nr: 171, why: 'the domain name' },
];

/** clone(2) flags that create namespaces: NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x7e02_0000;
export const NR_CLONE = 56;
export const NR_CLONE3 = 435;
export const EPERM = 1;
export const ENOSYS = 38;

// <linux/audit.h>, <linux/seccomp.h>, <linux/filter.h>
const AUDIT_ARCH_X86_64 = 0xc000_003e;
export const X32_SYSCALL_BIT = 0x4000_0000;
const SECCOMP_RET_KILL_PROCESS = 0x8000_0000;
const SECCOMP_RET_ALLOW = 0x7fff_0000;
const SECCOMP_RET_ERRNO = 0x0005_0000;
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;
// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0_LOW = 16; // little-endian: the low 32 bits of args[0] come first

// BPF jumps only go forward, so every target sits below the checks that lead to it.
type Target = 'eperm' | 'enosys' | 'kill' | 'clone';
type Insn = { label?: Target } & (
  | { op: 'ld'; offset: number }
  | { op: 'jeq' | 'jge' | 'jset'; k: number; jt: Target | 'next'; jf: Target | 'next' }
  | { op: 'ret'; value: number }
);

/**
 * Builds the classic-BPF seccomp program bwrap loads with `--seccomp FD`: an array of
 * `struct sock_filter` (u16 code, u8 jt, u8 jf, u32 k), little-endian, 8 bytes each.
 *
 * Layout: kill on other ABIs (i386 via int 0x80, x32) outright, since their syscall numbers differ
 * and would slip past the list (and Kafel kills there too); refuse each listed call; let clone
 * through unless it asks for a namespace; answer clone3 with ENOSYS so glibc falls back to clone,
 * whose flags BPF can read (clone3 passes them in memory, out of a filter's reach — the approach
 * of Docker's profile).
 */
export function buildSeccompFilter(arch: string = process.arch): Buffer {
  if (arch !== 'x64') {
    throw new Error(`The sandbox's syscall filter has no syscall table for ${arch} (only x64).`);
  }
  const program: Insn[] = [
    { op: 'ld', offset: OFFSET_ARCH },
    { op: 'jeq', k: AUDIT_ARCH_X86_64, jt: 'next', jf: 'kill' },
    { op: 'ld', offset: OFFSET_NR },
    { op: 'jge', k: X32_SYSCALL_BIT, jt: 'kill', jf: 'next' },
    ...deniedSyscalls.map((s): Insn => ({ op: 'jeq', k: s.nr, jt: 'eperm', jf: 'next' })),
    { op: 'jeq', k: NR_CLONE3, jt: 'enosys', jf: 'next' },
    { op: 'jeq', k: NR_CLONE, jt: 'clone', jf: 'next' },
    { op: 'ret', value: SECCOMP_RET_ALLOW },
    { op: 'ld', offset: OFFSET_ARG0_LOW, label: 'clone' },
    { op: 'jset', k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'next' },
    { op: 'ret', value: SECCOMP_RET_ALLOW },
    { op: 'ret', value: SECCOMP_RET_ERRNO | EPERM, label: 'eperm' },
    { op: 'ret', value: SECCOMP_RET_ERRNO | ENOSYS, label: 'enosys' },
    { op: 'ret', value: SECCOMP_RET_KILL_PROCESS, label: 'kill' },
  ];
  const labels = new Map<Target, number>();
  program.forEach((insn, i) => {
    if (insn.label) labels.set(insn.label, i);
  });

  const out = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    const jump = (target: Target | 'next'): number => {
      if (target === 'next') return 0;
      const offset = (labels.get(target) ?? -1) - i - 1;
      if (offset < 0 || offset > 255) throw new Error(`seccomp: jump to ${target} out of range at ${i}`);
      return offset;
    };
    let code: number;
    let jt = 0;
    let jf = 0;
    let k: number;
    if (insn.op === 'ld') {
      code = BPF_LD_W_ABS;
      k = insn.offset;
    } else if (insn.op === 'ret') {
      code = BPF_RET_K;
      k = insn.value;
    } else {
      code = insn.op === 'jeq' ? BPF_JEQ_K : insn.op === 'jge' ? BPF_JGE_K : BPF_JSET_K;
      jt = jump(insn.jt);
      jf = jump(insn.jf);
      k = insn.k;
    }
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}

/** The x32 forms of the listed calls: the x86_64 number with bit 30 set, and any x32-only entry. */
export function x32Forms(s: DeniedSyscall): number[] {
  return [X32_SYSCALL_BIT | s.nr, ...(s.x32 === undefined ? [] : [X32_SYSCALL_BIT | s.x32])];
}

/**
 * The same policy in Kafel for nsjail's `seccomp_string`, on one line so that nsjail builds where
 * the field is not yet repeated accept it too. Calls go by number (`SYSCALL[n]`, named in a
 * comment), so a Kafel whose syscall table lacks a newer name (io_uring, the new mount API) still
 * takes the whole policy, with exactly the numbers the BPF program refuses. clone keeps its name
 * for the `clone_flags` argument (as in redpwn's jail policy).
 */
export function kafelPolicy(): string {
  const call = (nr: number, name: string) => `SYSCALL[${nr}] /* ${name} */`;
  const flags = `0x${CLONE_NAMESPACE_FLAGS.toString(16).padStart(8, '0')}`;
  const x32 = deniedSyscalls.flatMap((s) =>
    x32Forms(s).map((nr) => `SYSCALL[0x${nr.toString(16)}] /* x32 ${s.name} */`),
  );
  const eperm = [`clone { (clone_flags & ${flags}) != 0 }`, ...deniedSyscalls.map((s) => call(s.nr, s.name))];
  return [
    `KILL_PROCESS { ${x32.join(', ')} }`,
    `ERRNO(${ENOSYS}) { ${call(NR_CLONE3, 'clone3')} }`,
    `ERRNO(${EPERM}) { ${eperm.join(', ')} }`,
    'DEFAULT ALLOW',
  ].join(' ');
}
