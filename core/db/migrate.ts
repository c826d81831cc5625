import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
// Any constant: serialises concurrent migrators (two processes starting at once).
const LOCK_ID = 727_001;

/**
 * Failures that mean "Postgres is not accepting yet" rather than "this will never work": the
 * server is not listening (a fresh volume's init server listens only on its Unix socket), is
 * starting or restarting (57P03 cannot_connect_now), or its host name does not resolve yet.
 * A wrong password or a missing database is not here: waiting would not fix it.
 */
const NOT_YET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', '57P03']);
const RETRY_INTERVAL_MS = 1_000;

export interface MigrateOptions {
  /** Keep trying to connect for this long while Postgres is not accepting yet (default 0: once). */
  connectTimeoutMs?: number;
  onRetry?: (reason: string) => void;
  /** Apply only the files named before this one (a test of a later migration on an older shape). */
  before?: string;
}

function notYet(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  return (code !== undefined && NOT_YET.has(code)) || /Connection terminated/i.test(message ?? '');
}

async function connect(
  databaseUrl: string,
  { connectTimeoutMs = 0, onRetry }: MigrateOptions,
): Promise<Client> {
  const deadline = Date.now() + connectTimeoutMs;
  for (;;) {
    // A pg Client connects once: every attempt needs a new one.
    const client = new Client({ connectionString: databaseUrl });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (!notYet(err) || Date.now() + RETRY_INTERVAL_MS > deadline) throw err;
      const { code, message } = err as { code?: string; message?: string };
      onRetry?.(code ?? message ?? String(err));
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
    }
  }
}

/**
 * Applies numbered, forward-only SQL files in order, each in its own transaction,
 * recording each in `schema_migrations`. The same runner prepares test databases.
 */
export async function runMigrations(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const client = await connect(databaseUrl, options);
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(
      `create table if not exists schema_migrations (
         name text primary key,
         applied_at timestamptz not null default now()
       )`,
    );
    const done = new Set(
      (await client.query<{ name: string }>('select name from schema_migrations')).rows.map((r) => r.name),
    );
    const files = (await readdir(MIGRATIONS_DIR))
      .filter((f) => /^\d{3}_.+\.sql$/.test(f) && (options.before === undefined || f < options.before))
      .sort();
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('insert into schema_migrations (name) values ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
    return { applied };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    await client.end();
  }
}
