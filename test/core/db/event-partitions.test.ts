import type { Queryable } from '../../../core/db/pool';
import { listEvents } from '../../../core/db/event-listing';
import {
  ensureArchiveMonths,
  ensureEventPartitions,
  listMonthPartitions,
  retireMonths,
  type MonthPartition,
} from '../../../core/db/partitions';
import { archiveEventsBatch } from '../../../core/db/retention';
import { createTestDatabase, type TestDatabase } from '../../support/db';

/**
 * Events partitioned by month (migrations 018, 019): what a listing page reads (EXPLAIN
 * ANALYZE), and retention by whole months with per-operator horizons.
 */
let db: TestDatabase;
let months: MonthPartition[];
const DAY_MS = 86_400_000;

/** `n` events of one operator's entity, spread over a month's first n hours. */
async function fill(operatorId: string, externalId: string, month: MonthPartition, n: number) {
  await db.pool.query(
    `insert into events (id, operator_id, external_id, event_type, data, created_at)
     select 'eev_' || substr(md5($1 || $3 || g), 1, 16), $1, $2, 'session', jsonb_build_object('i', g),
            $3::timestamptz + make_interval(mins => g)
       from generate_series(1, $4) g`,
    [operatorId, externalId, month.from, n],
  );
}

interface PlanNode {
  'Relation Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** listEvents' own statement under EXPLAIN ANALYZE: the events partitions planned and read. */
async function partitionsTouched(q: Parameters<typeof listEvents>[1]) {
  let plan: PlanNode | undefined;
  const explaining: Queryable = {
    query: (async (text: string, values: unknown[]) => {
      const res = await db.pool.query(`explain (analyze, costs off, format json) ${text}`, values);
      plan = (res.rows[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0]!.Plan;
      return { rows: [] };
    }) as unknown as Queryable['query'],
  } as Queryable;
  await listEvents(explaining, q);
  const planned: string[] = [];
  const read: string[] = [];
  const walk = (n: PlanNode) => {
    const rel = n['Relation Name'];
    if (rel?.startsWith('events_p')) {
      planned.push(rel);
      if ((n['Actual Loops'] ?? 0) > 0) read.push(rel);
    }
    n.Plans?.forEach(walk);
  };
  walk(plan!);
  return { planned: [...new Set(planned)].sort(), read: [...new Set(read)].sort() };
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `insert into operators (id, name, mode, retention_policy) values
       ('op_pa', 'a', 'live', '{"entity_events":{"hot_days":30,"archive_days":365}}'),
       ('op_pb', 'b', 'live', '{"entity_events":{"hot_days":30,"archive_days":60}}'),
       ('op_pc', 'c (no policy)', 'live', null)`,
  );
  await db.pool.query(
    `insert into entities (operator_id, external_id, id, entity_type, data)
     values ('op_pa', 'p1', 'ent_pa1', 'player', '{}'), ('op_pb', 'p1', 'ent_pb1', 'player', '{}'),
            ('op_pc', 'p1', 'ent_pc1', 'player', '{}')`,
  );
  // Migration 018 made this month's partition and the next three.
  months = await listMonthPartitions(db.pool, 'events');
});
afterAll(() => db?.drop());

describe('events partitioned by month', () => {
  it('has this month and three ahead, and making them again is a no-op; more ahead on request', async () => {
    expect(months).toHaveLength(4);
    expect(months[0]!.from.getTime()).toBeLessThanOrEqual(Date.now());
    expect(months[0]!.to.getTime()).toBeGreaterThan(Date.now());
    expect(await ensureEventPartitions(db.pool, 3)).toBe(0);
    expect(await ensureEventPartitions(db.pool, 5)).toBe(2);
    expect(await listMonthPartitions(db.pool, 'events')).toHaveLength(6);
  });

  it('a listing page reads the newest partition holding its rows, and at most the one before', async () => {
    const [, a, b, c] = months as [MonthPartition, MonthPartition, MonthPartition, MonthPartition];
    for (const m of [a, b, c]) await fill('op_pa', 'p1', m, 300);
    const q = { operatorId: 'op_pa', externalId: 'p1', limit: 50, offset: 0 };

    // First page: every month is planned (no bound to prune with); of the months with rows only
    // the newest is read. The empty months made ahead of it cost one index probe each.
    const first = await partitionsTouched(q);
    expect(first.read.filter((n) => n <= c.name)).toEqual([c.name]);

    // A cursor inside month b: later months are not even planned; b alone is read.
    const page = await listEvents(db.pool, q);
    expect(page.every((e) => e.created_at >= c.from)).toBe(true);
    const { rows: mid } = await db.pool.query<{ id: string; ts: string }>(
      `select id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ts
         from events where operator_id = 'op_pa' and created_at >= $1 and created_at < $2
        order by created_at desc, id desc offset 100 limit 1`,
      [b.from, b.to],
    );
    const inB = await partitionsTouched({ ...q, before: { createdAt: mid[0]!.ts, id: mid[0]!.id } });
    expect(inB.planned).not.toContain(c.name);
    expect(inB.read).toEqual([b.name]);

    // A cursor 10 rows before b's start: the page spills into a, two partitions read.
    const { rows: edge } = await db.pool.query<{ id: string; ts: string }>(
      `select id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ts
         from events where operator_id = 'op_pa' and created_at >= $1 and created_at < $2
        order by created_at, id offset 10 limit 1`,
      [b.from, b.to],
    );
    const spill = await partitionsTouched({ ...q, before: { createdAt: edge[0]!.ts, id: edge[0]!.id } });
    expect(spill.read).toEqual([a.name, b.name].sort());
    const rows = await listEvents(db.pool, { ...q, before: { createdAt: edge[0]!.ts, id: edge[0]!.id } });
    expect(rows).toHaveLength(51);
    expect(rows.filter((e) => e.created_at < b.from)).toHaveLength(41);
  });
});

describe('retention by whole months', () => {
  it('moves a month every present operator has archived, drops one all have purged, keeps one an operator without a policy is in', async () => {
    const [now, a, b, c] = months as [MonthPartition, MonthPartition, MonthPartition, MonthPartition];
    const all = await listMonthPartitions(db.pool, 'events');
    const ahead = all.slice(4).map((m) => m.name);
    const archived = (m: MonthPartition) => m.name.replace('events_', 'events_archive_');
    // Month a: op_pa (300 from the listing test) and op_pb. Month b: op_pa and op_pc (no policy).
    await fill('op_pb', 'p1', a, 200);
    await fill('op_pc', 'p1', b, 100);
    const targets = [
      { operatorId: 'op_pa', events: { hot_days: 30, archive_days: 365 } },
      { operatorId: 'op_pb', events: { hot_days: 30, archive_days: 60 } },
    ];
    const before = await listEvents(db.pool, {
      operatorId: 'op_pb',
      externalId: 'p1',
      limit: 500,
      offset: 0,
    });

    // 40 days after a's end: a is past both hot horizons (and op_pb's archive one is not yet).
    const asOf = new Date(b.to.getTime() + 40 * DAY_MS);
    const storage = async (table: string) =>
      (await db.pool.query<{ f: string }>(`select pg_relation_filenode($1::regclass)::text f`, [table]))
        .rows[0]!.f;
    const aFile = await storage(a.name);
    const out = await retireMonths(db.pool, targets, new Date(a.to.getTime() + 40 * DAY_MS));
    // This month is past too by then, and empty: nothing keeps it.
    expect(out).toEqual({
      monthsArchived: [a.name],
      rowsArchived: 500,
      monthsDropped: [now.name],
      rowsDeleted: 0,
    });
    // Catalog work: the archive's month is the same storage, not a copy of its rows (WAL is
    // measured by bench/scenarios/scale-store.ts: a cluster-wide figure, shared by parallel tests).
    expect(await storage(archived(a))).toBe(aFile);
    const archive = await listMonthPartitions(db.pool, 'events_archive');
    expect(archive.map((m) => m.name)).toEqual([archived(a)]);
    const { rows: hot } = await db.pool.query<{ n: number }>(
      `select count(*)::int n from events where created_at >= $1 and created_at < $2`,
      [a.from, a.to],
    );
    expect(hot[0]!.n).toBe(0);
    // The listing reads the archive as before: the same events, in the same order.
    const after = await listEvents(db.pool, { operatorId: 'op_pb', externalId: 'p1', limit: 500, offset: 0 });
    expect(after.map((e) => e.id)).toEqual(before.map((e) => e.id));

    // Month b holds op_pc, which keeps its events: the month stays; op_pa's rows there go by
    // the bounded row sweep, into an archive partition for b made on demand.
    const later = await retireMonths(db.pool, targets, asOf);
    expect(later).toEqual({ monthsArchived: [], rowsArchived: 0, monthsDropped: [], rowsDeleted: 0 });
    expect((await listMonthPartitions(db.pool, 'events')).map((m) => m.name)).toContain(b.name);
    await ensureArchiveMonths(db.pool, 'op_pa', b.to);
    let moved = 0;
    for (let n = -1; n !== 0; moved += n) {
      n = await archiveEventsBatch(db.pool, {
        operatorId: 'op_pa',
        cutoff: b.to,
        limit: 120,
      });
      n = Math.max(n, 0);
    }
    expect(moved).toBe(300);
    // Now the archive month b is not empty: b can no longer move whole, it stays with the sweep.
    const { rows: split } = await db.pool.query<{ t: string; n: number }>(
      `select 'hot' t, count(*)::int n from events where created_at >= $1 and created_at < $2
       union all select 'archive', count(*)::int from events_archive where created_at >= $1 and created_at < $2`,
      [b.from, b.to],
    );
    expect(split).toEqual([
      { t: 'hot', n: 100 },
      { t: 'archive', n: 300 },
    ]);

    // 400 days after a's end: a and b's archived part are past every present operator's
    // archive_days (dropped), c is past op_pa's hot_days (moved whole), the empty months ahead
    // are past; b's hot part stays (op_pc).
    const purge = await retireMonths(db.pool, targets, new Date(a.to.getTime() + 400 * DAY_MS));
    expect(purge).toEqual({
      monthsArchived: [c.name],
      rowsArchived: 300,
      monthsDropped: [...ahead, archived(a), archived(b)],
      rowsDeleted: 800,
    });
    expect((await listMonthPartitions(db.pool, 'events')).map((m) => m.name)).toEqual([b.name]);
    expect(
      await listEvents(db.pool, { operatorId: 'op_pb', externalId: 'p1', limit: 10, offset: 0 }),
    ).toEqual([]);
  });
});
