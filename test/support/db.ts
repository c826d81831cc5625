import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createPool, type Db } from '../../core/db/pool';
import { TEMPLATE_DB, testEnv, withDatabase } from './env';

export interface TestDatabase {
  url: string;
  pool: Db;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: testEnv().adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh database cloned from the migrated template: isolation per test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name} template ${TEMPLATE_DB}`));
  const url = withDatabase(testEnv().adminUrl, name);
  const pool = createPool(url, 20);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
