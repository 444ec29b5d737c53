import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describeError, EnvironmentError } from '../../lib/errors.js';
import { run } from '../../lib/proc.js';
import { type Account, blockingAncestor, serverAccount } from '../accounts.js';
import { type LaunchSpec, NativeService } from '../native-service.js';
import type { HealthResult, ServicePort, StartContext } from '../types.js';
import { applyMigrations } from './migrations.js';

const SUPERUSER = 'postgres';

/**
 * A private PostgreSQL 15 cluster: initdb on first start, the server as an unprivileged account
 * when we are root, role and database `sentinel`, and the schema migrations.
 */
export class PostgresService extends NativeService {
  readonly name = 'postgres' as const;
  private account: Account | undefined | null = null;

  ports(): ServicePort[] {
    return [{ name: 'sql', port: this.config.ports.postgres }];
  }

  requiredBinaries(): string[] {
    const bin = this.config.postgres.binDir;
    return [path.join(bin, 'postgres'), path.join(bin, 'initdb')];
  }

  private runAs(): Account | undefined {
    if (this.account === null) this.account = serverAccount(this.config.postgres.runAsUser);
    return this.account;
  }

  /**
   * The cluster's directory. It lives in the state dir unless the server account cannot reach it
   * (a state dir under /root, mode 700): then in /var/lib/sentinel-ctl, named after the state dir.
   */
  get clusterDir(): string {
    const account = this.runAs();
    if (!account || !blockingAncestor(this.dir, account)) return this.dir;
    const id = createHash('sha256').update(this.stateDir).digest('hex').slice(0, 12);
    return path.join('/var/lib/sentinel-ctl', `postgres-${id}`);
  }

  get dataDir(): string {
    return path.join(this.clusterDir, 'data');
  }

  get socketDir(): string {
    return path.join(this.clusterDir, 'socket');
  }

  protected async prepare(ctx: StartContext): Promise<void> {
    const account = this.runAs();
    const root = this.clusterDir;
    if (root !== this.dir) {
      ctx.progress(
        `postgres: ${this.runAs()?.name} cannot enter ${blockingAncestor(this.dir, account!)}; its data lives in ${root}`,
      );
    }
    // The shared parent must be enterable by the server account; the cluster dir itself is 0700.
    if (root !== this.dir) mkdirSync(path.dirname(root), { recursive: true, mode: 0o755 });
    for (const d of [root, this.socketDir]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      if (account) chownSync(d, account.uid, account.gid);
    }
    if (existsSync(path.join(this.dataDir, 'PG_VERSION'))) return;
    ctx.progress('postgres: initialising a new cluster (initdb)');
    await run(
      path.join(this.config.postgres.binDir, 'initdb'),
      [
        '-D',
        this.dataDir,
        '-U',
        SUPERUSER,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--no-locale',
        '--no-sync',
      ],
      { uid: account?.uid, gid: account?.gid, cwd: root, signal: ctx.signal, timeoutMs: 120_000 },
    );
  }

  protected launchSpecs(): LaunchSpec[] {
    const account = this.runAs();
    const c = this.config.postgres;
    const set = (k: string, v: string | number) => ['-c', `${k}=${v}`];
    return [
      {
        role: 'server',
        file: path.join(c.binDir, 'postgres'),
        args: [
          '-D',
          this.dataDir,
          ...set('port', this.config.ports.postgres),
          ...set('listen_addresses', '127.0.0.1'),
          ...set('unix_socket_directories', this.socketDir),
          ...set('max_connections', c.maxConnections),
          ...set('superuser_reserved_connections', c.superuserReservedConnections),
          ...set('shared_buffers', c.sharedBuffers),
          // For `diagnose`: top queries (pg_stat_statements) need the library preloaded.
          ...set('shared_preload_libraries', 'pg_stat_statements'),
          ...set('logging_collector', 'off'),
        ],
        uid: account?.uid,
        gid: account?.gid,
        cwd: this.clusterDir,
        match: this.dataDir,
        // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, exit cleanly.
        stopSignal: 'SIGINT',
        stopGraceMs: 20_000,
      },
    ];
  }

  private superuserClient(database = 'postgres'): pg.Client {
    return new pg.Client({
      host: this.socketDir,
      port: this.config.ports.postgres,
      user: SUPERUSER,
      database,
      connectionTimeoutMillis: 2000,
    });
  }

  /** Before bootstrap the role `sentinel` may not exist yet: the gate is the superuser's socket. */
  protected override async startupCheck(): Promise<boolean> {
    const client = this.superuserClient();
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** The application's own connection: TCP, password, as DATABASE_URL would connect. */
  appClient(timeoutMs = 2000): pg.Client {
    const c = this.config.credentials.postgres;
    return new pg.Client({
      host: '127.0.0.1',
      port: this.config.ports.postgres,
      user: c.user,
      password: c.password,
      database: c.database,
      connectionTimeoutMillis: timeoutMs,
    });
  }

  protected override async bootstrap(ctx: StartContext): Promise<void> {
    const c = this.config.credentials.postgres;
    const admin = this.superuserClient();
    try {
      await admin.connect();
      const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
      const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [c.user]);
      const password = `'${c.password.replace(/'/g, "''")}'`;
      // The password follows the config on every start, so a changed credentials file takes effect.
      await admin.query(`${rowCount ? 'ALTER' : 'CREATE'} ROLE ${ident(c.user)} LOGIN PASSWORD ${password}`);
      const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [c.database]);
      if (!db.rowCount) {
        ctx.progress(`postgres: creating database ${c.database}`);
        await admin.query(`CREATE DATABASE ${ident(c.database)} OWNER ${ident(c.user)}`);
      }
    } catch (error) {
      throw new EnvironmentError(`postgres: could not create role/database: ${describeError(error)}`, {
        code: 'BOOTSTRAP_FAILED',
      });
    } finally {
      await admin.end().catch(() => {});
    }
    const adminDb = this.superuserClient(c.database);
    try {
      await adminDb.connect();
      await adminDb.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    } finally {
      await adminDb.end().catch(() => {});
    }
    const app = this.appClient(5000);
    try {
      await app.connect();
      const { applied } = await applyMigrations(app);
      if (applied.length) ctx.progress(`postgres: applied migrations ${applied.join(', ')}`);
    } catch (error) {
      throw new EnvironmentError(`postgres: migrations failed: ${describeError(error)}`, {
        code: 'BOOTSTRAP_FAILED',
      });
    } finally {
      await app.end().catch(() => {});
    }
  }

  async health(timeoutMs = 2000): Promise<HealthResult> {
    const client = this.appClient(timeoutMs);
    try {
      await client.connect();
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return {
        ok: true,
        detail: 'SELECT as sentinel over TCP',
        version: rows[0]?.server_version.split(' ')[0],
      };
    } catch (error) {
      return { ok: false, detail: describeError(error) };
    } finally {
      await client.end().catch(() => {});
    }
  }
}
