import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeCursor } from '../../core/domain/events';
import {
  dropMonthPartition,
  ensureArchiveMonths,
  listMonthPartitions,
  retireMonths,
  type MonthPartition,
} from '../../core/db/partitions';
import type { Queryable } from '../../core/db/pool';
import { archiveEventsBatch } from '../../core/db/retention';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import { authHeaders, autocannon, probe } from '../lib/autocannon';
import { fmt, ratio, type BenchContext } from '../lib/context';
import { eventCount, seedEvents } from '../lib/seed';
import { betBody, createPlayer } from '../lib/stack';

/**
 * The events store at scale (issue 23): the same API, worker and Postgres measured with the
 * events table nearly empty and again after bulk-loading it to SCALE_STORE_ROWS (default 20M;
 * 2M with --quick), then retention of one loaded month by whole partition against today's
 * row-moving sweep on a month of the same size. Not bench/scenarios/scale.ts (several API
 * instances and a kill).
 */
const MONTHS = 12;
const OPERATORS = 20;
const LIST_EVENTS = 110_000; // page 1,001 at 100 a page lies inside them
const LIMIT = 100;
const BATCH = 5000;
const DIR = path.join(PROJECT_ROOT, '.local', 'bench');

interface Phase {
  recordRps: number;
  recordP99: number;
  firstP99: number;
  deepP99: number;
  batchRate: number;
}

async function measure(ctx: BenchContext, label: string, cursor: string): Promise<Phase> {
  const d = ctx.quick ? 4 : 8;
  const events = {
    url: `${ctx.api.url}/operator-data-api/entities/scale-rec/events`,
    method: 'POST' as const,
    headers: authHeaders(ctx.op.apiKey),
    body: betBody,
    connections: 16,
    durationS: d,
  };
  await probe(events);
  await autocannon({ ...events, durationS: 2 }); // warm-up
  const rec = await autocannon(events);
  const base = `${ctx.api.url}/operator-data-api/entities/scale-list/events?limit=${LIMIT}`;
  const get = (url: string) =>
    autocannon({ url, headers: authHeaders(ctx.op.apiKey), connections: 4, durationS: d });
  await get(base);
  const first = await get(base);
  const deep = await get(`${base}&cursor=${cursor}`);
  const bodyFile = path.join(DIR, 'scale-store-batch.json');
  const batches = ctx.quick ? 2 : 4;
  const before = await eventCount(ctx.s.pool, ctx.op.operatorId, 'scale-batch');
  const b = await autocannon({
    url: `${ctx.api.url}/operator-data-api/batch/events`,
    method: 'POST',
    headers: authHeaders(ctx.op.apiKey),
    bodyFile,
    connections: 2,
    amount: batches,
    timeoutS: 120,
  });
  const recorded = (await eventCount(ctx.s.pool, ctx.op.operatorId, 'scale-batch')) - before;
  const phase = {
    recordRps: rec.rps,
    recordP99: rec.p99,
    firstP99: first.p99,
    deepP99: deep.p99,
    batchRate: recorded / b.durationS,
  };
  ctx.log(
    `scale-store ${label}: POST /events ${fmt(rec.rps)} req/s (p99 ${rec.p99} ms, non-2xx ${rec.non2xx}); ` +
      `listing p99 first ${first.p99} ms, page 1,001 by cursor ${deep.p99} ms; batch ${fmt(phase.batchRate)} events/s`,
  );
  return phase;
}

async function walLsn(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.s.pool.query<{ b: string }>(`select pg_current_wal_lsn() - '0/0' as b`);
  return Number(rows[0]!.b);
}

async function vacuumStats(ctx: BenchContext) {
  const { rows } = await ctx.s.pool.query<{ av: number; aa: number; dead: number; live: number }>(
    `select coalesce(sum(autovacuum_count), 0)::int av, coalesce(sum(autoanalyze_count), 0)::int aa,
            coalesce(sum(n_dead_tup), 0)::bigint dead, coalesce(sum(n_live_tup), 0)::bigint live
       from pg_stat_user_tables where relname like 'events%'`,
  );
  return rows[0]!;
}

export async function scaleStore(ctx: BenchContext): Promise<void> {
  const total = Number(process.env.SCALE_STORE_ROWS ?? (ctx.quick ? 2_000_000 : 20_000_000));
  const perMonth = Math.floor(total / MONTHS);
  const pool = ctx.s.pool;
  for (const p of ['scale-rec', 'scale-list', 'scale-batch']) await createPlayer(ctx.api.url!, ctx.op, p);
  await fs.mkdir(DIR, { recursive: true });
  await fs.writeFile(
    path.join(DIR, 'scale-store-batch.json'),
    JSON.stringify(
      Array.from({ length: BATCH }, (_, i) => ({
        externalId: 'scale-batch',
        eventType: 'game_activity',
        data: { game_id: 'slot_starburst', bet_amount: 2.5, currency: 'GBP', round_id: `r_${i}` },
      })),
    ),
  );
  await seedEvents(pool, {
    operatorId: ctx.op.operatorId,
    externalId: 'scale-list',
    count: LIST_EVENTS,
    outbox: false,
  });
  await pool.query('analyze events');
  const { rows: c } = await pool.query<{ id: string; cursor_ts: string }>(
    `select id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from events where operator_id = $1 and external_id = 'scale-list'
      order by created_at desc, id desc offset $2 limit 1`,
    [ctx.op.operatorId, 1000 * LIMIT - 1],
  );
  const cursor = encodeCursor(c[0]!);
  const { rows: startRows } = await pool.query<{ n: number }>('select count(*)::int n from events');
  ctx.log(
    `scale-store: baseline table holds ${fmt(startRows[0]!.n)} events (the listing entity's ${fmt(LIST_EVENTS)})`,
  );
  const empty = await measure(ctx, `near-empty (${fmt(startRows[0]!.n)} events)`, cursor);

  // Load: this month and the 11 after it (their partitions made here, as the schedule would
  // ahead of time), spread over 20 operators and 100,000 entities each. This month takes its
  // share too, so the loaded phase records into a partition as full as a real month's (up to
  // now), not an empty one. Future months rather than past ones: past months of a fresh
  // database lie in the first partition (the table from before partitioning).
  await pool.query(`select ensure_event_partitions($1)`, [MONTHS + 1]);
  await pool.query(
    `insert into operators (id, name, mode, retention_policy)
     select 'op_scale_' || lpad(g::text, 2, '0'), 'scale ' || g, 'live',
            '{"entity_events":{"hot_days":30,"archive_days":3650}}'::jsonb
       from generate_series(0, $1 - 1) g on conflict do nothing`,
    [OPERATORS],
  );
  const months = (await listMonthPartitions(pool, 'events')).slice(0, MONTHS);
  const vac0 = await vacuumStats(ctx);
  const loadStart = Date.now();
  // One month's rows: ids in the product's format (month byte = the bench's month number, so no
  // two months share one), created_at evenly over [from, to).
  const insertMonth = (
    db: Queryable,
    table: string,
    i: number,
    from: Date,
    to: Date,
    lo: number,
    hi: number,
  ) =>
    db.query(
      `insert into ${table} (id, operator_id, external_id, event_type, data, created_at)
       select 'eev_' || lpad(to_hex($1::int), 2, '0') || lpad(to_hex(g), 14, '0'),
              'op_scale_' || lpad((g % $4)::text, 2, '0'), 'p' || (g % 100000), 'game_activity',
              jsonb_build_object('game_id', 'slot_starburst', 'bet_amount', 2.5, 'currency', 'GBP', 'round_id', 'r_' || g),
              $2::timestamptz + ($3::timestamptz - $2::timestamptz) * (g::float8 / ($5 + 1))
         from generate_series($6::int, $7::int) g`,
      [i + 1, from, to, OPERATORS, perMonth, lo, hi],
    );
  const loader = await pool.connect();
  try {
    await loader.query(`set maintenance_work_mem = '256MB'`);
    for (const [i, m] of months.entries()) {
      const t0 = Date.now();
      const part = `"${m.name}"`;
      if (i === 0) {
        // This month already holds the listing entity and the near-empty phase's events, and
        // stays attached (the worker may still be fanning those out): its rows go in through
        // its live indexes, as a month's traffic would, in chunks, up to now.
        for (let lo = 1; lo <= perMonth; lo += 250_000)
          await insertMonth(loader, part, i, m.from, new Date(), lo, Math.min(perMonth, lo + 249_999));
      } else {
        // A future month is loaded as a bulk load would be: its (empty) partition detached, its
        // indexes dropped, the rows inserted, the indexes built in one sort each, and the
        // partition attached again (its bound CHECK constraint spares the attach a scan).
        await loader.query(`alter table events detach partition ${part}`);
        const { rows: idx } = await loader.query<{ name: string }>(
          `select indexrelid::regclass::text as name from pg_index where indrelid = $1::regclass`,
          [m.name],
        );
        for (const x of idx) await loader.query(`drop index ${x.name}`);
        await insertMonth(loader, part, i, m.from, m.to, 1, perMonth);
        await loader.query(`create unique index "${m.name}_id" on ${part} (id)`);
        await loader.query(`create index on ${part} (operator_id, external_id, created_at desc, id desc)`);
        await loader.query(
          `create index on ${part} (operator_id, external_id, event_type, created_at desc, id desc)`,
        );
        await loader.query(`create index on ${part} (operator_id, created_at)`);
        await loader.query(
          `alter table events attach partition ${part} for values from ('${m.from.toISOString()}') to ('${m.to.toISOString()}')`,
        );
      }
      ctx.log(
        `scale-store: loaded ${m.name}: ${fmt(perMonth)} rows in ${fmt((Date.now() - t0) / 1000, 1)} s`,
      );
    }
  } finally {
    loader.release();
  }
  const loadS = (Date.now() - loadStart) / 1000;
  await pool.query('vacuum analyze events');
  const { rows: size } = await pool.query<{ n: number; heap: number; idx: number }>(
    `select (select count(*) from events)::bigint n,
            sum(pg_table_size(c.oid))::bigint heap, sum(pg_indexes_size(c.oid))::bigint idx
       from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'events'::regclass`,
  );
  const loaded = size[0]!;
  const perMillion = (b: number) => `${fmt(b / (loaded.n / 1e6) / 2 ** 20)} MiB`;
  ctx.log(
    `scale-store: ${fmt(loaded.n)} events after loading ${fmt(perMonth * MONTHS)} in ${fmt(loadS)} s ` +
      `(${fmt((perMonth * MONTHS) / loadS)} rows/s); per million events: table ${perMillion(loaded.heap)}, indexes ${perMillion(loaded.idx)}`,
  );
  const full = await measure(ctx, `loaded (${fmt(loaded.n)} events)`, cursor);

  // Retention of one month. Today's way, on this month: every scale operator's events in it
  // moved row by row (batches of 1,000, as the schedule runs it; the bench operator's own events
  // stay). The partition way, on next month (the same size and shape): retireMonths moves it
  // whole to the archive (this month, which holds an operator without a policy, stays); then
  // its archive partition is dropped, as it would be past archive_days.
  const [m1, m2] = months as [MonthPartition, MonthPartition];
  // As the retention activity does before its sweep: archive months for what it will move.
  for (let o = 0; o < OPERATORS; o++)
    await ensureArchiveMonths(pool, `op_scale_${String(o).padStart(2, '0')}`, m1.to);
  // The row sweep moves a few hundred rows a second on this shared machine: it runs for at
  // most ROW_SWEEP_S and its time and WAL for the whole month are extrapolated from its rate
  // (said so in the results); a run that finishes the month in time reports it as measured.
  const budgetS = Number(process.env.SCALE_STORE_ROW_SWEEP_S ?? (ctx.quick ? 30 : 120));
  let wal = await walLsn(ctx);
  let t = Date.now();
  let rowsMoved = 0;
  sweep: for (let o = 0; o < OPERATORS; o++) {
    const operatorId = `op_scale_${String(o).padStart(2, '0')}`;
    for (;;) {
      const n = await archiveEventsBatch(pool, { operatorId, cutoff: m1.to, limit: 1000 });
      rowsMoved += n;
      if (n < 1000) break;
      if (Date.now() - t > budgetS * 1000) break sweep;
    }
  }
  const sweptS = (Date.now() - t) / 1000;
  const sweptWal = (await walLsn(ctx)) - wal;
  const complete = rowsMoved >= perMonth;
  const rowS = complete ? sweptS : (sweptS * perMonth) / rowsMoved;
  const rowWal = complete ? sweptWal : (sweptWal * perMonth) / rowsMoved;
  const sweepNote = complete ? 'measured' : `extrapolated from ${fmt(rowsMoved)} rows in ${fmt(sweptS, 1)} s`;
  const { rows: dead } = await pool.query<{ dead: number }>(
    `select n_dead_tup::bigint dead from pg_stat_user_tables where relname = $1`,
    [m1.name],
  );
  ctx.log(
    `scale-store retention, row sweep: ${fmt(rowsMoved)} rows of ${m1.name} moved in ${fmt(sweptS, 1)} s, WAL ${fmt(sweptWal / 2 ** 20)} MiB, ` +
      `${fmt(dead[0]!.dead)} dead tuples left for vacuum; the month's ${fmt(perMonth)}: ${fmt(rowS, 1)} s, ${fmt(rowWal / 2 ** 20)} MiB WAL (${sweepNote})`,
  );

  const targets = Array.from({ length: OPERATORS }, (_, o) => ({
    operatorId: `op_scale_${String(o).padStart(2, '0')}`,
    events: { hot_days: 30, archive_days: 3650 },
  }));
  const { rows: m2size } = await pool.query<{ b: number }>(
    `select pg_total_relation_size($1::regclass)::bigint b`,
    [m2.name],
  );
  wal = await walLsn(ctx);
  t = Date.now();
  const retired = await retireMonths(pool, targets, new Date(m2.to.getTime() + 30 * 86_400_000 + 1000));
  const partS = (Date.now() - t) / 1000;
  const partWal = (await walLsn(ctx)) - wal;
  ctx.log(
    `scale-store retention, whole month: ${JSON.stringify(retired)} in ${fmt(partS, 3)} s, WAL ${fmt(partWal / 1024)} KiB`,
  );
  const archived = (await listMonthPartitions(pool, 'events_archive')).find(
    (m) => m.name === `events_archive_${m2.name.slice(7)}`,
  );
  wal = await walLsn(ctx);
  t = Date.now();
  const dropped = archived ? await dropMonthPartition(pool, 'events_archive', archived) : 0;
  const dropS = (Date.now() - t) / 1000;
  const dropWal = (await walLsn(ctx)) - wal;
  ctx.log(
    `scale-store retention, drop of the archived month: ${fmt(dropped)} rows, ${fmt(m2size[0]!.b / 2 ** 20)} MiB freed in ${fmt(dropS, 3)} s, WAL ${fmt(dropWal / 1024)} KiB`,
  );
  const vac1 = await vacuumStats(ctx);
  ctx.log(
    `scale-store autovacuum over the run (events* tables): ${vac1.av - vac0.av} autovacuum runs, ${vac1.aa - vac0.aa} autoanalyze runs; ` +
      `dead tuples now ${fmt(vac1.dead)} of ${fmt(vac1.live)} live`,
  );

  const label = `${fmt(loaded.n)} vs ${fmt(startRows[0]!.n)} events`;
  const row = (
    metric: string,
    measured: string,
    baseline: string,
    r: string,
    target: string,
    pass?: boolean,
  ) => ctx.rows.push({ benchmark: 'Scale (store)', metric, measured, baseline, ratio: r, target, pass });
  row(
    `POST /events req/s, 16 conn (${label})`,
    `${fmt(full.recordRps)} (p99 ${full.recordP99} ms)`,
    `${fmt(empty.recordRps)} (p99 ${empty.recordP99} ms)`,
    ratio(full.recordRps, empty.recordRps),
    '≥ 0.90×',
    full.recordRps >= 0.9 * empty.recordRps,
  );
  row(
    `listing p99, first page (${label})`,
    `${full.firstP99} ms`,
    `${empty.firstP99} ms`,
    ratio(full.firstP99, empty.firstP99),
    '≤ 1.50×',
    full.firstP99 <= 1.5 * Math.max(empty.firstP99, 1),
  );
  row(
    `listing p99, page 1,001 by cursor (${label})`,
    `${full.deepP99} ms`,
    `${empty.deepP99} ms`,
    ratio(full.deepP99, empty.deepP99),
    '≤ 1.50×',
    full.deepP99 <= 1.5 * Math.max(empty.deepP99, 1),
  );
  row(
    `/batch/events events/s, ${BATCH}-item batches (${label})`,
    fmt(full.batchRate),
    fmt(empty.batchRate),
    ratio(full.batchRate, empty.batchRate),
    '≥ 0.90×',
    full.batchRate >= 0.9 * empty.batchRate,
  );
  row(
    'table + index bytes per million events',
    `${perMillion(loaded.heap)} + ${perMillion(loaded.idx)}`,
    '—',
    '—',
    '—',
  );
  row(
    `retention of one month (${fmt(perMonth)} events): seconds`,
    `${fmt(partS, 3)} s whole month to archive`,
    `${fmt(rowS, 1)} s row sweep (${sweepNote})`,
    ratio(partS, rowS),
    '≤ 0.05×',
    partS <= rowS / 20,
  );
  row(
    'retention of one month: WAL',
    `${fmt(partWal / 1024)} KiB`,
    `${fmt(rowWal / 2 ** 20)} MiB (${sweepNote})`,
    ratio(partWal, rowWal),
    'bounded',
    partWal < 16 * 2 ** 20,
  );
  row(
    'retention of one month: drop past archive_days (rows, bytes freed)',
    `${fmt(dropped)} rows, ${fmt(m2size[0]!.b / 2 ** 20)} MiB in ${fmt(dropS, 3)} s, WAL ${fmt(dropWal / 1024)} KiB`,
    `row sweep: ${fmt(dead[0]!.dead)} dead tuples, 0 bytes returned before vacuum`,
    '—',
    '—',
  );
  row(
    'autovacuum over the run (events* tables)',
    `${vac1.av - vac0.av} autovacuum, ${vac1.aa - vac0.aa} autoanalyze runs`,
    '—',
    '—',
    '—',
  );
}
