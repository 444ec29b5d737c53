import type pg from 'pg';

/**
 * The `execution_jobs` schema of docs/design.md "The stack contract", as versioned migrations.
 * Append only: an applied migration is never edited, a change is a new version.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'execution_jobs',
    sql: `
      CREATE TYPE execution_status AS ENUM (
        'QUEUED', 'COMPILING', 'RUNNING',
        'SUCCESS', 'COMPILATION_ERROR', 'RUNTIME_ERROR', 'TIMEOUT', 'MEMORY_LIMIT_EXCEEDED', 'INTERNAL_ERROR'
      );
      CREATE TYPE language AS ENUM ('python', 'cpp');
      CREATE TABLE execution_jobs (
        job_id          uuid PRIMARY KEY,
        language        language NOT NULL,
        source_code     text NOT NULL,
        stdin           text NOT NULL DEFAULT '',
        stdout          text,
        stderr          text,
        status          execution_status NOT NULL DEFAULT 'QUEUED',
        exit_code       integer,
        time_used_ms    integer,
        memory_used_kb  integer,
        time_limit_ms   integer NOT NULL DEFAULT 5000 CHECK (time_limit_ms BETWEEN 1 AND 10000),
        memory_limit_kb integer NOT NULL DEFAULT 262144 CHECK (memory_limit_kb > 0),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX execution_jobs_status_idx ON execution_jobs (status);
      CREATE INDEX execution_jobs_created_at_idx ON execution_jobs (created_at);
    `,
  },
  {
    version: 2,
    name: 'execution_jobs_status_notify',
    // The API's WebSocket stream (docs/api.md "Stream") learns of every status change from here,
    // whichever worker wrote it: NOTIFY carries the id, status and small fields (a payload is at
    // most 8000 bytes, so never the source or the output), delivered at commit, in commit order.
    sql: `
      CREATE FUNCTION execution_jobs_notify_status() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('execution_jobs_status', json_build_object(
          'job_id', NEW.job_id, 'status', NEW.status, 'exit_code', NEW.exit_code,
          'time_used_ms', NEW.time_used_ms, 'memory_used_kb', NEW.memory_used_kb,
          'updated_at', to_char(NEW.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text);
        RETURN NULL;
      END $$ LANGUAGE plpgsql;
      CREATE TRIGGER execution_jobs_status_notify
        AFTER UPDATE OF status ON execution_jobs
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION execution_jobs_notify_status();
    `,
  },
];

export interface MigrationResult {
  applied: number[];
  current: number;
}

/** Applies the migrations not yet recorded in `schema_migrations`; running it again is a no-op. */
export async function applyMigrations(client: pg.Client | pg.PoolClient): Promise<MigrationResult> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // Two `up`s against one database must not both apply a migration.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['sentinel-ctl migrations']);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
}
