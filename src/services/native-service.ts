import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sleep } from '../clients/backoff.js';
import type { SentinelConfig } from '../config/schema.js';
import { describeError, EnvironmentError } from '../lib/errors.js';
import { spawnDaemon, stopTree } from '../lib/proc.js';
import { findPortHolder, processCommandLine } from './ports.js';
import {
  type ProcessRecord,
  processMatches,
  readRecord,
  recordLiveness,
  removeRecord,
  type ServiceRecord,
  tailFile,
  writeRecord,
} from './state.js';
import type {
  HealthResult,
  ServiceController,
  ServiceName,
  ServicePort,
  ServiceStatus,
  StartContext,
} from './types.js';

export interface LaunchSpec {
  role: string;
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cleanEnv?: boolean;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** A fragment of the command line that identifies this process later (see ProcessRecord). */
  match: string;
  stopSignal?: NodeJS.Signals;
  stopGraceMs?: number;
  /** Wait until this returns true before launching the next process of the same service. */
  ready?: () => Promise<boolean>;
}

/**
 * The shared life cycle of a native server process: prepare its directory, launch it detached,
 * record its pid, gate on a real health check, run its bootstrap (schema, queues), and stop it
 * gracefully. Subclasses say what to launch, how to check it, and what to initialise.
 */
export abstract class NativeService implements ServiceController {
  abstract readonly name: ServiceName;
  readonly dependsOn: readonly ServiceName[] = [];
  /** How long start() waits for the first healthy answer. */
  protected startTimeoutMs = 30_000;

  constructor(protected readonly config: SentinelConfig) {}

  abstract ports(): ServicePort[];
  abstract requiredBinaries(): string[];
  abstract health(timeoutMs?: number): Promise<HealthResult>;
  /** Create data directories and config files; runs before every launch (must be idempotent). */
  protected abstract prepare(ctx: StartContext): Promise<void>;
  protected abstract launchSpecs(): LaunchSpec[];
  /** One-time or idempotent initialisation once healthy: databases, roles, migrations, queues. */
  protected async bootstrap(_ctx: StartContext): Promise<void> {}

  get stateDir(): string {
    return this.config.stateDir;
  }

  /** `<stateDir>/<service>`: data, config and log of this service. */
  get dir(): string {
    return path.join(this.config.stateDir, this.name);
  }

  logFile(): string {
    return path.join(this.dir, `${this.name}.log`);
  }

  async start(ctx: StartContext): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await this.prepare(ctx);
    const record: ServiceRecord = {
      service: this.name,
      startedAt: new Date().toISOString(),
      ports: this.ports(),
      processes: [],
    };
    const exits: Array<Promise<{ role: string; code: number | null }>> = [];
    for (const spec of this.launchSpecs()) {
      if (ctx.signal.aborted) break;
      const handle = await spawnDaemon(spec.file, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        cleanEnv: spec.cleanEnv,
        uid: spec.uid,
        gid: spec.gid,
        logFile: this.logFile(),
      });
      record.processes.push({ role: spec.role, pid: handle.pid, match: spec.match });
      // Written before waiting, so a failure or Ctrl-C from here on can still find and stop it.
      writeRecord(this.stateDir, record);
      exits.push(handle.exited.then((code) => ({ role: spec.role, code })));
      if (spec.ready) await this.waitFor(spec.role, spec.ready, exits, ctx);
    }
    if (ctx.signal.aborted)
      throw new EnvironmentError(`${this.name}: start interrupted`, { code: 'ABORTED' });
    await this.waitFor(this.name, () => this.startupCheck(), exits, ctx);
    await this.bootstrap(ctx);
    const h = await this.health(5000);
    if (!h.ok) {
      throw new EnvironmentError(`${this.name} started but its health check fails: ${h.detail}`, {
        code: 'START_FAILED',
        suggestion: `Read the log with \`sentinel-ctl logs ${this.name}\`.`,
      });
    }
  }

  /** What start() waits for before bootstrap(); by default the health check itself. */
  protected async startupCheck(): Promise<boolean> {
    return (await this.health(2000)).ok;
  }

  /** Polls `check` until true; fails fast when a launched process exits or time runs out. */
  private async waitFor(
    what: string,
    check: () => Promise<boolean>,
    exits: Array<Promise<{ role: string; code: number | null }>>,
    ctx: StartContext,
  ): Promise<void> {
    let exited: { role: string; code: number | null } | undefined;
    for (const e of exits) void e.then((r) => (exited ??= r));
    const deadline = Date.now() + this.startTimeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (ctx.signal.aborted)
        throw new EnvironmentError(`${this.name}: start interrupted`, { code: 'ABORTED' });
      if (exited) {
        throw new EnvironmentError(
          `${this.name} exited during start-up (${exited.role}, exit code ${exited.code}). Last lines of ${this.logFile()}:\n${tailFile(this.logFile())}`,
          { code: 'START_FAILED', suggestion: `Read the whole log with \`sentinel-ctl logs ${this.name}\`.` },
        );
      }
      try {
        if (await check()) return;
      } catch (error) {
        lastError = describeError(error);
      }
      await sleep(100, ctx.signal);
    }
    throw new EnvironmentError(
      `${this.name} did not become healthy within ${this.startTimeoutMs / 1000} s (${what}${lastError ? `: ${lastError}` : ''}). Last lines of ${this.logFile()}:\n${tailFile(this.logFile())}`,
      { code: 'START_TIMEOUT', suggestion: `Read the whole log with \`sentinel-ctl logs ${this.name}\`.` },
    );
  }

  async stop(): Promise<'graceful' | 'killed' | 'not-running'> {
    const record = readRecord(this.stateDir, this.name);
    if (!record) return 'not-running';
    const specs = new Map(this.launchSpecs().map((s) => [s.role, s]));
    let outcome: 'graceful' | 'killed' | 'not-running' = 'not-running';
    // Reverse order: the server before the helpers it needs (RabbitMQ before its epmd).
    for (const p of [...record.processes].reverse()) {
      if (!processMatches(p)) continue;
      const spec = specs.get(p.role);
      const how = await stopTree(p.pid, spec?.stopSignal ?? 'SIGTERM', spec?.stopGraceMs ?? 15_000);
      outcome = outcome === 'killed' || how === 'killed' ? 'killed' : 'graceful';
    }
    removeRecord(this.stateDir, this.name);
    return outcome;
  }

  /**
   * Processes of this service left behind without a pid file — RabbitMQ's epmd after its node was
   * killed and the record cleared, a server whose pid file was deleted — hold its ports and would
   * make the start fail. A port holder whose command line is one this service launches (same
   * program, same identifying fragment: a port, a data directory) is ours: stop it.
   */
  async reclaimStrays(progress: (message: string) => void): Promise<void> {
    const specs = this.launchSpecs();
    for (const p of this.ports()) {
      const holder = findPortHolder(p.port);
      if (!holder) continue;
      const cmd = processCommandLine(holder.pid);
      const spec = specs.find((s) => cmd.includes(s.match) && cmd.includes(path.basename(s.file)));
      if (!spec) continue;
      progress(
        `${this.name}: stopping a leftover ${spec.role} (pid ${holder.pid}) that holds port ${p.port}`,
      );
      await stopTree(holder.pid, spec.stopSignal ?? 'SIGTERM', spec.stopGraceMs ?? 15_000);
    }
  }

  /** The recorded processes, and whether they are still ours. */
  protected recorded(): { record?: ServiceRecord; liveness?: 'live' | 'stale' | 'partial' } {
    const record = readRecord(this.stateDir, this.name);
    return { record, liveness: record ? recordLiveness(record) : undefined };
  }

  mainProcess(record: ServiceRecord): ProcessRecord | undefined {
    return record.processes[record.processes.length - 1];
  }

  async status(): Promise<ServiceStatus> {
    const { record, liveness } = this.recorded();
    const base = {
      name: this.name,
      ports: this.ports(),
      logFile: this.logFile(),
      startedAt: record?.startedAt || null,
      pid: record ? (this.mainProcess(record)?.pid ?? null) : null,
    };
    if (!record) return { ...base, state: 'stopped', healthy: false, health: 'not started', version: null };
    if (liveness === 'stale') {
      return {
        ...base,
        state: 'stale',
        healthy: false,
        health: 'pid file left behind; process is gone',
        version: null,
      };
    }
    const h = await this.health(2000);
    return {
      ...base,
      state: h.ok && liveness === 'live' ? 'running' : 'unhealthy',
      healthy: h.ok,
      health: liveness === 'partial' ? `some processes are gone; ${h.detail}` : h.detail,
      version: h.version ?? null,
      partial: liveness === 'partial',
    };
  }
}
