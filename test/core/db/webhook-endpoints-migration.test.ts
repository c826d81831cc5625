import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../../core/db/migrate';
import { testEnv, withDatabase } from '../../support/env';

const MIGRATIONS = path.join(__dirname, '../../../core/db/migrations');

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: testEnv().adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Applies the migrations before 008 by hand, recording them as the runner would. */
async function migrateUpTo008(c: Client): Promise<void> {
  await c.query(
    'create table schema_migrations (name text primary key, applied_at timestamptz not null default now())',
  );
  const files = (await readdir(MIGRATIONS)).filter((f) => /^\d{3}_.+\.sql$/.test(f) && f < '008').sort();
  for (const f of files) {
    await c.query(await readFile(path.join(MIGRATIONS, f), 'utf8'));
    await c.query('insert into schema_migrations (name) values ($1)', [f]);
  }
}

describe('migration 008: several webhook endpoints per operator', () => {
  const db = `t_wh008_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(testEnv().adminUrl, db);
  let c: Client;
  beforeAll(async () => {
    await admin(`create database ${db}`);
    c = new Client({ connectionString: url });
    await c.connect();
  });
  afterAll(async () => {
    await c?.end();
    await admin(`drop database if exists ${db} with (force)`);
  });

  it("keeps an existing endpoint as the operator's enabled shorthand endpoint, and fanout_subscribed follows enabled endpoints", async () => {
    await migrateUpTo008(c);
    await c.query(
      `insert into operators (id, name, mode) values ('op_a', 'A', 'test'), ('op_b', 'B', 'test')`,
    );
    await c.query(
      `insert into webhook_endpoints (operator_id, url, secret, event_filter)
       values ('op_a', 'https://a.example.com/h', 'whsec_a', '{entity_event.*}')`,
    );
    expect((await c.query(`select fanout_subscribed('op_a', 'entity_event.session') as s`)).rows[0].s).toBe(
      true,
    );

    const { applied } = await runMigrations(url);
    expect(applied).toContain('008_webhook_endpoints.sql');

    const { rows } = await c.query(
      'select id, operator_id, url, secret, event_filter, enabled, shorthand, description from webhook_endpoints',
    );
    expect(rows).toEqual([
      {
        id: expect.stringMatching(/^wep_[0-9a-f]{16}$/),
        operator_id: 'op_a',
        url: 'https://a.example.com/h',
        secret: 'whsec_a',
        event_filter: ['entity_event.*'],
        enabled: true,
        shorthand: true,
        description: '',
      },
    ]);
    const subscribed = async (op: string, ev: string) =>
      (await c.query('select fanout_subscribed($1, $2) as s', [op, ev])).rows[0].s as boolean;
    expect(await subscribed('op_a', 'entity_event.session')).toBe(true);
    expect(await subscribed('op_a', 'entity.created')).toBe(false);

    // A second endpoint: either one subscribing is enough, a disabled one is not.
    await c.query(
      `insert into webhook_endpoints (id, operator_id, url, secret, event_filter, enabled)
       values ('wep_0000000000000001', 'op_a', 'https://b.example.com/h', 'whsec_b', '{*}', false)`,
    );
    expect(await subscribed('op_a', 'entity.created')).toBe(false);
    await c.query(`update webhook_endpoints set enabled = true where id = 'wep_0000000000000001'`);
    expect(await subscribed('op_a', 'entity.created')).toBe(true);
    await c.query(`update webhook_endpoints set enabled = false where shorthand`);
    expect(await subscribed('op_a', 'entity_event.session')).toBe(true);
    expect(await subscribed('op_b', 'entity_event.session')).toBe(false);
  });
});
