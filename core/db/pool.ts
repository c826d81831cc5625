import { Pool, PoolClient, types } from 'pg';

// BIGINT (int8) comes back as string by default; our counts and sequence numbers fit in a double.
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

export type Db = Pool;

/** The one owner of the pg pool in a process. */
export function createPool(databaseUrl: string, max = 20): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max,
    // Fail fast when Postgres is down instead of queueing requests forever (answer 503).
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30000,
    application_name: 'igaming-ingest',
  });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs fn in a transaction on one client; always releases it. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Something that runs queries: the pool or a transaction's client. */
export type Queryable = Pick<Pool, 'query'>;

/** Postgres error codes we react to, by name. */
export const PgCode = {
  UNIQUE_VIOLATION: '23505',
  CHECK_VIOLATION: '23514',
  FOREIGN_KEY_VIOLATION: '23503',
  INVALID_TEXT_REPRESENTATION: '22P02',
  CHARACTER_NOT_IN_REPERTOIRE: '22021',
  UNTRANSLATABLE_CHARACTER: '22P05',
  DUPLICATE_DATABASE: '42P04',
} as const;

/** Postgres unreachable or gone mid-request: we answer 503, never a stack trace. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e) return false;
  if (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08001',
      '08003',
    ].includes(e.code ?? '')
  ) {
    return true;
  }
  return /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i.test(
    e.message ?? '',
  );
}
