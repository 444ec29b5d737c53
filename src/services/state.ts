import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../lib/fs.js';
import { isAlive } from '../lib/proc.js';
import { processCommandLine } from './ports.js';
import type { ServiceName, ServicePort } from './types.js';

/** One process that `up` started, with a fragment of its command line to tell it from a reused pid. */
export interface ProcessRecord {
  role: string;
  pid: number;
  match: string;
}

/** The pid file of a service: `<stateDir>/run/<service>.json`. */
export interface ServiceRecord {
  service: ServiceName;
  startedAt: string;
  ports: ServicePort[];
  processes: ProcessRecord[];
}

export function recordPath(stateDir: string, service: ServiceName): string {
  return path.join(stateDir, 'run', `${service}.json`);
}

export function readRecord(stateDir: string, service: ServiceName): ServiceRecord | undefined {
  const file = recordPath(stateDir, service);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ServiceRecord;
  } catch {
    // A torn or hand-edited pid file says nothing reliable: treat it as stale.
    return { service, startedAt: '', ports: [], processes: [] };
  }
}

export function writeRecord(stateDir: string, record: ServiceRecord): void {
  mkdirSync(path.join(stateDir, 'run'), { recursive: true });
  writeFileAtomic(recordPath(stateDir, record.service), `${JSON.stringify(record, null, 2)}\n`, 0o644);
}

export function removeRecord(stateDir: string, service: ServiceName): void {
  rmSync(recordPath(stateDir, service), { force: true });
}

/** A recorded process still exists and is still the program we started (not a reused pid). */
export function processMatches(p: ProcessRecord): boolean {
  return isAlive(p.pid) && processCommandLine(p.pid).includes(p.match);
}

/** 'live' when every recorded process is ours and alive, 'stale' when none is, 'partial' otherwise. */
export function recordLiveness(record: ServiceRecord): 'live' | 'stale' | 'partial' {
  if (record.processes.length === 0) return 'stale';
  const alive = record.processes.filter(processMatches).length;
  if (alive === record.processes.length) return 'live';
  return alive === 0 ? 'stale' : 'partial';
}

/** The last `lines` lines of a log file, for error messages. */
export function tailFile(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
