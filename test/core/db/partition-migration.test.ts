import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { runMigrations } from '../../../core/db/migrate';
import { createPool, type Db } from '../../../core/db/pool';
import { testEnv, withDatabase } from '../../support/env';

jest.setTimeout(300_000);

/**
 * The live-deployment path from one events table to month partitions (docs/SCALING.md), on a
 * populated table with writes going on throughout: (1) the cutover bound added NOT VALID and
 * validated (a scan that does not block writes), (2) migrations 018 and 019 in their
 * transaction. The second step must do catalog work only: no scan of the old table under its
 * ACCESS EXCLUSIVE lock (seq_scan unchanged), no index built (the same index oids), nothing
 * lost or duplicated.
 */
const ROWS = 300_000;
const ARCHIVED = 20_000;

let name: string;
let url: string;
let pool: Db;

async function admin(sql: string) {
  const c = new Client({ connectionString: testEnv().adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  name = `t_pm_${randomBytes(5).toString('hex')}`;
  await admin(`create database ${name}`);
  url = withDatabase(testEnv().adminUrl, name);
  await runMigrations(url, { before: '018' });
  pool = createPool(url, 5);
  await pool.query(`insert into operators (id, name, mode) values ('op_live', 'live', 'live')`);
  // 90 days of history in the one table, and an archive.
  await pool.query(
    `insert into events (id, operator_id, external_id, event_type, data, created_at)
     select 'eev_' || lpad(to_hex(g), 16, '0'), 'op_live', 'p' || (g % 5000), 'session', jsonb_build_object('i', g),
            now() - make_interval(secs => (g % 7776000))
       from generate_series(1, $1) g`,
    [ROWS],
  );
  await pool.query(
    `insert into events_archive (id, operator_id, external_id, event_type, data, created_at)
     select 'eev_a' || lpad(to_hex(g), 15, '0'), 'op_live', 'p' || (g % 5000), 'session', '{}', now() - interval '200 days'
       from generate_series(1, $1) g`,
    [ARCHIVED],
  );
  await pool.query('vacuum analyze events');
});
afterAll(async () => {
  await pool?.end();
  if (name) await admin(`drop database if exists ${name} with (force)`);
});

/** Inserts one event at a time until stopped, as the API would; answers the ids and the slowest insert. */
function writer(db: Db) {
  const ids: string[] = [];
  const errors: string[] = [];
  let slowestMs = 0;
  let stop = false;
  const done = (async () => {
    for (let n = 0; !stop; n++) {
      const id = `eev_f${randomBytes(7).toString('hex').slice(0, 15)}`;
      const t = process.hrtime.bigint();
      try {
        await db.query(
          `insert into events (id, operator_id, external_id, event_type, data) values ($1, 'op_live', 'p1', 'session', '{}')`,
          [id],
        );
        ids.push(id);
      } catch (err) {
        errors.push((err as Error).message);
      }
      slowestMs = Math.max(slowestMs, Number(process.hrtime.bigint() - t) / 1e6);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    ids,
    errors,
    slowest: () => slowestMs,
    reset: () => (slowestMs = 0),
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

const seqScans = async (table: string) =>
  Number(
    (
      await pool.query<{ n: string }>(`select seq_scan::text n from pg_stat_user_tables where relname = $1`, [
        table,
      ])
    ).rows[0]!.n,
  );

const indexOids = async (table: string) =>
  (
    await pool.query<{ oid: number }>(
      `select indexrelid::int oid from pg_index where indrelid = $1::regclass order by 1`,
      [table],
    )
  ).rows.map((r) => r.oid);

it('moves a populated, written-to table to month partitions with brief locks only, losing and doubling nothing', async () => {
  const w = writer(pool);
  await new Promise((r) => setTimeout(r, 300));
  const log: string[] = [];

  // Step 1: the bound, a future month start (rows keep arriving until the swap).
  const { rows: cut } = await pool.query<{ c: string }>(
    `select ((date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC')::text c`,
  );
  const cutover = cut[0]!.c;
  let t = Date.now();
  // One connection, whose statistics are flushed before step 2 counts scans: a backend reports
  // them at most once a second (or 10 s later when idle), so VALIDATE's own scan could otherwise
  // be counted after the migration instead of before it.
  const step1 = await pool.connect();
  try {
    await step1.query(`set lock_timeout = '5s'`);
    for (const table of ['events', 'events_archive']) {
      await step1.query(
        `alter table ${table} add constraint ${table}_partition_cutover check (created_at < '${cutover}') not valid`,
      );
      await step1.query(`alter table ${table} validate constraint ${table}_partition_cutover`);
    }
    await step1.query('select pg_stat_force_next_flush()');
    await step1.query('select 1');
  } finally {
    step1.release();
  }
  log.push(
    `step 1 (add NOT VALID + VALIDATE, both tables): ${Date.now() - t} ms, slowest insert ${w.slowest().toFixed(1)} ms`,
  );
  w.reset();

  // Step 2: the migrations, as `npm run migrate` runs them.
  const before = {
    scans: await seqScans('events'),
    archiveScans: await seqScans('events_archive'),
    idx: await indexOids('events'),
  };
  t = Date.now();
  const { applied } = await runMigrations(url);
  const migrationMs = Date.now() - t;
  await new Promise((r) => setTimeout(r, 300));
  await w.stop();
  log.push(
    `step 2 (migrations ${applied.join(', ')}): ${migrationMs} ms, slowest insert ${w.slowest().toFixed(1)} ms`,
  );
  console.log(
    `partition migration on ${ROWS} rows: ${log.join('; ')}; ${w.ids.length} inserts during the run`,
  );

  // The two partitioning migrations, first (later ones, added since, follow them).
  expect(applied.slice(0, 2)).toEqual(['018_events_partitioned.sql', '019_events_archive_partitioned.sql']);
  expect(w.errors).toEqual([]);
  // No scan of the old tables under the lock (validation came from step 1), no index rebuilt.
  expect(await seqScans('events_legacy')).toBe(before.scans);
  expect(await seqScans('events_archive_legacy')).toBe(before.archiveScans);
  expect(await indexOids('events_legacy')).toEqual(before.idx);
  // The old table is the first partition, up to the bound chosen in step 1.
  const { rows: parts } = await pool.query<{ relname: string; bound: string }>(
    `select c.relname, pg_get_expr(c.relpartbound, c.oid) bound from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'events'::regclass order by 1`,
  );
  expect(parts[0]).toEqual({
    relname: 'events_legacy',
    bound: expect.stringMatching(/^FOR VALUES FROM \(MINVALUE\) TO \('/),
  });
  expect(parts.length).toBeGreaterThanOrEqual(4);
  // Nothing lost, nothing twice.
  const { rows: counts } = await pool.query<{ n: number; ids: number; mine: number; archived: number }>(
    `select count(*)::int n, count(distinct id)::int ids,
            count(*) filter (where id = any($1))::int mine,
            (select count(*)::int from events_archive) archived
       from events`,
    [w.ids],
  );
  expect(counts[0]).toEqual({
    n: ROWS + w.ids.length,
    ids: ROWS + w.ids.length,
    mine: w.ids.length,
    archived: ARCHIVED,
  });
  expect(w.ids.length).toBeGreaterThan(0);
  // And the partitioned table takes writes after the swap.
  await pool.query(
    `insert into events (id, operator_id, external_id, event_type, data) values ('eev_after', 'op_live', 'p1', 'session', '{}')`,
  );
});

it('without the first step, on a table already holding events of this month, puts the bound at next month', async () => {
  // A local stack used earlier in the month: the migrations run on their own at its next start.
  const other = `t_pm_${randomBytes(5).toString('hex')}`;
  await admin(`create database ${other}`);
  const otherUrl = withDatabase(testEnv().adminUrl, other);
  const db = createPool(otherUrl, 2);
  try {
    await runMigrations(otherUrl, { before: '018' });
    await db.query(`insert into operators (id, name, mode) values ('op_dev', 'dev', 'test')`);
    await db.query(
      `insert into events (id, operator_id, external_id, event_type, data)
       values ('eev_00000000000000a1', 'op_dev', 'p1', 'session', '{}')`,
    );
    const { applied } = await runMigrations(otherUrl);
    expect(applied.slice(0, 2)).toEqual(['018_events_partitioned.sql', '019_events_archive_partitioned.sql']);
    const { rows } = await db.query<{ bound: string; next: boolean }>(
      `select pg_get_expr(c.relpartbound, c.oid) as bound,
              (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz
                = (date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC' as next
         from pg_class c where c.relname = 'events_legacy'`,
    );
    expect(rows[0]!.next).toBe(true);
    // The event stays where it was, new ones of this month join it, and both are read back.
    await db.query(
      `insert into events (id, operator_id, external_id, event_type, data)
       values ('eev_00000000000000a2', 'op_dev', 'p1', 'session', '{}')`,
    );
    const { rows: listed } = await db.query<{ id: string; part: string }>(
      `select id, tableoid::regclass::text as part from events where operator_id = 'op_dev' order by id`,
    );
    expect(listed).toEqual([
      { id: 'eev_00000000000000a1', part: 'events_legacy' },
      { id: 'eev_00000000000000a2', part: 'events_legacy' },
    ]);
  } finally {
    await db.end();
    await admin(`drop database if exists ${other} with (force)`);
  }
});
