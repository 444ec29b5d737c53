import { closeSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Descriptors a sandbox must not inherit. bubblewrap hands the program every descriptor its own
 * launcher inherited (only nsjail closes them, keeping 0-2 and --pass_fd), and Node's spawn passes
 * on whatever the worker holds without close-on-exec. Node and libuv open their own descriptors
 * close-on-exec (files, pipes, sockets, the IPC channel), and Node marks the few low ones it
 * inherits so at start-up, but not high ones: a shell's or a job runner's stray pipe at fd 251, a
 * supervisor's log file at fd 200 stay open in the worker, and from there in every sandbox — a
 * write channel out of it (found by `sentinel-ctl audit sandbox`, row proc-inherited-fds).
 */

/** O_CLOEXEC as /proc/<pid>/fdinfo shows it: octal `flags:` (asm-generic/fcntl.h, 02000000). */
export const O_CLOEXEC = 0o2000000;

/** The `flags:` field of a /proc/<pid>/fdinfo/<fd> file, or undefined when absent. */
export function parseFdinfoFlags(fdinfo: string): number | undefined {
  const m = /^flags:\s+([0-7]+)$/m.exec(fdinfo);
  return m ? Number.parseInt(m[1]!, 8) : undefined;
}

/** The descriptors above stderr that a spawned child would inherit: open without close-on-exec. */
export function inheritableFds(fds: ReadonlyArray<{ fd: number; flags: number }>): number[] {
  return fds
    .filter((f) => f.fd > 2 && (f.flags & O_CLOEXEC) === 0)
    .map((f) => f.fd)
    .sort((a, b) => a - b);
}

/**
 * Closes the descriptors this process would pass on to every child: called once by the bwrap
 * driver before any sandbox starts. Nothing the worker uses is among them (see above). Returns
 * the numbers closed.
 */
export function closeInheritableFds(procSelf = '/proc/self'): number[] {
  const fds: Array<{ fd: number; flags: number }> = [];
  let names: string[];
  try {
    names = readdirSync(`${procSelf}/fd`);
  } catch {
    return []; // no /proc: bwrap cannot run here either, and init says so
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number | undefined;
    try {
      flags = parseFdinfoFlags(readFileSync(`${procSelf}/fdinfo/${fd}`, 'utf8'));
    } catch {
      continue; // the listing's own descriptor, closed by now
    }
    if (flags !== undefined) fds.push({ fd, flags });
  }
  const stray = inheritableFds(fds);
  for (const fd of stray) {
    try {
      closeSync(fd);
    } catch {
      // Closed meanwhile.
    }
  }
  return stray;
}
