import type { Pool } from 'pg';
import { PgCode, type Queryable } from './pool';
import type { RetentionTarget } from './retention';

/**
 * Month partitions of `events` and `events_archive` (migrations 018, 019): creating them ahead
 * of need, and retention by whole partitions. docs/SCALING.md has the design and its figures.
 */

export type MonthParent = 'events' | 'events_archive';

export interface MonthPartition {
  name: string;
  /** Inclusive lower bound, the first instant of a UTC month. */
  from: Date;
  /** Exclusive upper bound, the first instant of the next month. */
  to: Date;
}

/** Creates this month's events partition and the next `monthsAhead`; answers how many it made. */
export async function ensureEventPartitions(db: Queryable, monthsAhead: number): Promise<number> {
  const { rows } = await db.query<{ made: number }>('select ensure_event_partitions($1) as made', [
    monthsAhead,
  ]);
  return rows[0]!.made;
}

/**
 * A write met a month that has no events partition: the `event-partitions` schedule, which
 * keeps three months ahead, has not run for that long (no worker up). Nothing was written; the
 * API makes the month's partition itself (ensureEventPartitions) and writes again, so recording
 * never depends on a worker having run.
 */
export function isMissingEventPartition(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === PgCode.CHECK_VIOLATION &&
    /^no partition of relation "events" found for row/.test(e.message ?? '')
  );
}

/**
 * The parent's month partitions (named <parent>_pYYYY_MM), oldest first. The first partition
 * (the table as it was before partitioning, FROM MINVALUE) is not among them: it is never
 * dropped or moved whole; row by row retention (core/db/retention.ts) serves it.
 */
export async function listMonthPartitions(db: Queryable, parent: MonthParent): Promise<MonthPartition[]> {
  const { rows } = await db.query<{ name: string; from: Date; to: Date }>(
    `select c.relname as name,
            (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz as "from",
            (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz as "to"
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = $1::regclass and c.relname ~ '_p\\d{4}_\\d{2}$'
      order by 2`,
    [parent],
  );
  return rows;
}

/**
 * The operators with at least one row in a partition: a loose index scan of its
 * (operator_id, created_at) index, one probe per operator, whatever the partition's size.
 */
export async function operatorsIn(db: Queryable, partition: string): Promise<string[]> {
  const t = quoteIdent(partition);
  const { rows } = await db.query<{ operator_id: string }>(
    `with recursive o as (
       (select operator_id from ${t} order by operator_id limit 1)
       union all
       select (select p.operator_id from ${t} p where p.operator_id > o.operator_id order by p.operator_id limit 1)
         from o where o.operator_id is not null
     )
     select operator_id from o where operator_id is not null`,
  );
  return rows.map((r) => r.operator_id);
}

export type PartitionAction = 'drop' | 'archive' | 'keep';

/**
 * What retention may do with a whole month of `events` (or of `events_archive`: then only
 * 'drop' or 'keep'), given the operators with rows in it. A month goes only when every one of
 * those operators' horizons has passed its last instant: an operator without a policy keeps
 * its events, so its presence keeps the month. 'drop': past every present operator's
 * archive_days. 'archive': past every one's hot_days (the month moves to events_archive whole).
 * Anything less is left to the bounded row-by-row sweep for the operators whose horizon has
 * passed (core/db/retention.ts), as before partitioning.
 */
export function partitionAction(
  month: MonthPartition,
  present: string[],
  targets: RetentionTarget[],
  asOf: Date,
  parent: MonthParent,
): PartitionAction {
  const DAY_MS = 86_400_000;
  const rules = new Map(targets.map((t) => [t.operatorId, t.events]));
  const passed = (days: (r: RetentionTarget['events']) => number) =>
    present.every((op) => {
      const r = rules.get(op);
      return r !== undefined && month.to.getTime() <= asOf.getTime() - days(r) * DAY_MS;
    });
  if (month.to.getTime() > asOf.getTime()) return 'keep';
  if (passed((r) => r.archive_days)) return 'drop';
  if (parent === 'events' && passed((r) => r.hot_days)) return 'archive';
  return 'keep';
}

const quoteIdent = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a partition name: ${name}`);
  return `"${name}"`;
};

/**
 * Statements that change which partitions a parent has lock the parent ACCESS EXCLUSIVE for
 * a moment (catalog work only). lock_timeout keeps them from queueing live traffic behind a
 * long reader: they give up instead, and the next run tries again.
 */
const LOCK_TIMEOUT = '3s';

async function inTransaction<T>(pool: Pool, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`set local lock_timeout = '${LOCK_TIMEOUT}'`);
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Rows in a partition (an index-only count; no write). */
async function countRows(db: Queryable, partition: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${quoteIdent(partition)}`);
  return rows[0]!.n;
}

/** Drops a whole month partition; answers its rows. */
export async function dropMonthPartition(
  pool: Pool,
  parent: MonthParent,
  month: MonthPartition,
): Promise<number> {
  return inTransaction(pool, async (db) => {
    const rows = await countRows(db, month.name);
    await db.query(`alter table ${parent} detach partition ${quoteIdent(month.name)}`);
    await db.query(`drop table ${quoteIdent(month.name)}`);
    return rows;
  });
}

/**
 * Moves a whole month from events to events_archive in one transaction (no moment where its
 * rows are in neither): detach, rename, attach. No row is copied: the partition's indexes match
 * the archive's and its bound is already a CHECK constraint, so the attach neither builds nor
 * scans. An archive partition for the month that is still empty (made by an earlier row sweep
 * that found nothing) is dropped first; one holding rows means the month was already split
 * between the two tables, and it stays with the row sweep ('skipped').
 */
export async function moveMonthToArchive(
  pool: Pool,
  month: MonthPartition,
): Promise<{ rows: number } | 'skipped'> {
  const archiveName = month.name.replace(/^events_/, 'events_archive_');
  return inTransaction(pool, async (db) => {
    const existing = await db.query<{ n: number }>(
      `select (select count(*) from pg_class where relname = $1)::int as n`,
      [archiveName],
    );
    if (existing.rows[0]!.n > 0) {
      if ((await countRows(db, archiveName)) > 0) return 'skipped' as const;
      await db.query(`alter table events_archive detach partition ${quoteIdent(archiveName)}`);
      await db.query(`drop table ${quoteIdent(archiveName)}`);
    }
    const rows = await countRows(db, month.name);
    await db.query(`alter table events detach partition ${quoteIdent(month.name)}`);
    await db.query(`alter table ${quoteIdent(month.name)} rename to ${quoteIdent(archiveName)}`);
    await db.query(
      `alter table events_archive attach partition ${quoteIdent(archiveName)}
         for values from ('${month.from.toISOString()}') to ('${month.to.toISOString()}')`,
    );
    return { rows };
  });
}

/**
 * Archive partitions for the months in which the operator has events older than `before`,
 * so the row sweep has somewhere to put them (months before partitioning go to the archive's
 * first partition). One index probe for the oldest such event, then one call per month.
 */
export async function ensureArchiveMonths(db: Queryable, operatorId: string, before: Date): Promise<void> {
  await db.query(
    `select ensure_month_partition('events_archive', m)
       from (select min(created_at) as oldest from events where operator_id = $1 and created_at < $2) o,
            generate_series(utc_month(o.oldest), $2::timestamptz, interval '1 month') m
      where o.oldest is not null`,
    [operatorId, before],
  );
}

export interface PartitionRetentionResult {
  /** events months moved whole to events_archive, and their rows. */
  monthsArchived: string[];
  rowsArchived: number;
  /** Whole months dropped (from either table), and their rows. */
  monthsDropped: string[];
  rowsDeleted: number;
}

/**
 * Retention by whole months: every past month of events and of events_archive whose present
 * operators' horizons have all passed is moved or dropped (partitionAction). Its cost is one
 * loose index scan per month and catalog work, not the rows.
 */
export async function retireMonths(
  pool: Pool,
  targets: RetentionTarget[],
  asOf: Date,
): Promise<PartitionRetentionResult> {
  const out: PartitionRetentionResult = {
    monthsArchived: [],
    rowsArchived: 0,
    monthsDropped: [],
    rowsDeleted: 0,
  };
  for (const month of await listMonthPartitions(pool, 'events')) {
    const action = partitionAction(month, await operatorsIn(pool, month.name), targets, asOf, 'events');
    if (action === 'drop') {
      out.rowsDeleted += await dropMonthPartition(pool, 'events', month);
      out.monthsDropped.push(month.name);
    } else if (action === 'archive') {
      const moved = await moveMonthToArchive(pool, month);
      if (moved !== 'skipped') {
        out.rowsArchived += moved.rows;
        out.monthsArchived.push(month.name);
      }
    }
  }
  for (const month of await listMonthPartitions(pool, 'events_archive')) {
    const action = partitionAction(
      month,
      await operatorsIn(pool, month.name),
      targets,
      asOf,
      'events_archive',
    );
    if (action === 'drop') {
      out.rowsDeleted += await dropMonthPartition(pool, 'events_archive', month);
      out.monthsDropped.push(month.name);
    }
  }
  return out;
}
