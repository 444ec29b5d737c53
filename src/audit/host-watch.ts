import { readdirSync, readFileSync } from 'node:fs';

/**
 * Looks for a process by name (comm) on the host while a job runs, and notes the uids it runs as
 * there. The sandbox cannot tell its host uid from inside (user namespaces nest), the host can.
 * Only meaningful when the worker runs on this machine; elsewhere nothing is ever found.
 */
export interface CommWatch {
  /** Stops watching; the distinct real and effective uids seen, undefined when never found. */
  stop(): number[] | undefined;
}

/** Real and effective uid from /proc/<pid>/status ("Uid:\treal\teffective\tsaved\tfs"). */
export function parseUids(status: string): number[] {
  const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  return m ? [Number(m[1]), Number(m[2])] : [];
}

/** Host pids whose comm is `comm`, with the real and effective uids of each. */
export function findByComm(comm: string): Array<{ pid: number; uids: number[] }> {
  const found: Array<{ pid: number; uids: number[] }> = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd() !== comm) continue;
      found.push({ pid: Number(pid), uids: parseUids(readFileSync(`/proc/${pid}/status`, 'utf8')) });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}

function scan(comm: string, seen: Set<number>): boolean {
  const found = findByComm(comm);
  for (const p of found) for (const uid of p.uids) seen.add(uid);
  return found.length > 0;
}

/**
 * Scans /proc every `intervalMs` until stopped, and at most `maxScans` times (a job that never
 * ends must not keep the audit scanning).
 */
export function watchComm(comm: string, intervalMs = 100, maxScans = 900): CommWatch {
  const seen = new Set<number>();
  let found = false;
  let scans = 0;
  const timer = setInterval(() => {
    if (++scans > maxScans) {
      clearInterval(timer);
      return;
    }
    if (scan(comm, seen)) found = true;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      if (scan(comm, seen)) found = true;
      return found ? [...seen].sort((a, b) => a - b) : undefined;
    },
  };
}

/**
 * After a job has ended: the processes still carrying its marker, which should not exist (the
 * sandbox's pid namespace and the slot's cgroup end with the job). Any found are killed by pid, so
 * a sandbox that failed the check does not leave the audit's program running on the host.
 */
export function reapSurvivors(comm: string): number[] {
  const found = findByComm(comm).map((p) => p.pid);
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return found;
}
