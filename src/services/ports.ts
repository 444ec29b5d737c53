import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';

export interface PortHolder {
  pid: number;
  command: string;
}

/** True when nothing listens on the port (a bind on 127.0.0.1 and on all addresses both succeed). */
export async function isPortFree(port: number): Promise<boolean> {
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local_address rem_address st ... inode at index 9; state 0A is LISTEN.
      if (cols.length < 10 || cols[3] !== '0A') continue;
      const localPort = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
      if (localPort === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** Which process listens on a TCP port, from /proc (Linux). Undefined when it cannot be told. */
export function findPortHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        return { pid: Number(entry), command: processName(Number(entry)) };
      }
    }
  }
  return undefined;
}

/** The short command name of a process (`postgres`, `beam.smp`), or `?`. */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The full command line of a process, arguments joined by spaces, or '' when it is gone. */
export function processCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
