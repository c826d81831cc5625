import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Client } from 'pg';
import { runMigrations } from '../../../core/db/migrate';
import { freePort } from '../../../scripts/lib/ports';
import { testEnv, withDatabase } from '../../support/env';

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: testEnv().adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The test's Postgres reached through `port`, where nothing listens until `open()`. */
function lateListener(port: number) {
  const target = new URL(testEnv().adminUrl);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  return {
    open: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

function urlOnPort(db: string, port: number): string {
  const u = new URL(withDatabase(testEnv().adminUrl, db));
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

describe('runMigrations connecting to a Postgres that is not accepting yet', () => {
  const db = `t_migrate_${randomBytes(4).toString('hex')}`;
  beforeAll(() => admin(`create database ${db}`));
  afterAll(() => admin(`drop database if exists ${db} with (force)`));

  it('keeps retrying until Postgres accepts, then applies the migrations', async () => {
    const port = await freePort();
    const listener = lateListener(port);
    const retries: string[] = [];
    try {
      const migrating = runMigrations(urlOnPort(db, port), {
        connectTimeoutMs: 30_000,
        onRetry: (reason) => retries.push(reason),
      });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await listener.open();
      const { applied } = await migrating;
      expect(applied).toContain('001_init.sql');
      expect(retries.length).toBeGreaterThanOrEqual(2);
      expect(retries[0]).toBe('ECONNREFUSED');
    } finally {
      await listener.close();
    }
  });

  it('gives up with the connection error once its time is over', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(runMigrations(urlOnPort(db, port), { connectTimeoutMs: 2_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not wait on an error that no retry fixes (a database that does not exist)', async () => {
    const retries: string[] = [];
    const started = Date.now();
    await expect(
      runMigrations(withDatabase(testEnv().adminUrl, `${db}_missing`), {
        connectTimeoutMs: 30_000,
        onRetry: (reason) => retries.push(reason),
      }),
    ).rejects.toMatchObject({ code: '3D000' });
    expect(retries).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
