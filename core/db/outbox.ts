import type { FanoutInput } from '../../workflows/types';
import type { Queryable } from './pool';

export interface PendingStart {
  workflow_id: string;
  payload: FanoutInput;
  search_attributes: Record<string, string[]>;
  /** The plan: definitions the workflow runs. */
  definitions: string[];
  attempts: number;
  /**
   * false: an internal event that starts no workflow (a state write nothing plans), queued only
   * so that it is matched against open waits after commit (settleOutbox). Absent means true.
   */
  start?: boolean;
}

/**
 * An event's outbox row does not repeat the event's data (up to 32 KB, already in `events`):
 * it is read back here, for the rows a relay is about to start, in one query. Other rows
 * (entity and state changes) carry their data in the payload. An event already moved to
 * the archive by retention is found there. A separate query rather than a join in the lease,
 * so that an idle relay's sweep never touches (or waits on a lock of) the events table.
 */
async function withEventData(db: Queryable, rows: PendingStart[]): Promise<PendingStart[]> {
  const missing = rows.filter((r) => r.payload.data === undefined && r.payload.eventId);
  if (missing.length === 0) return rows;
  const { rows: found } = await db.query<{ id: string; data: Record<string, unknown> }>(
    `with wanted(operator_id, id) as (select * from unnest($1::text[], $2::text[]))
     select id, data from events where (operator_id, id) in (select operator_id, id from wanted)
     union all
     select id, data from events_archive where (operator_id, id) in (select operator_id, id from wanted)`,
    [missing.map((r) => r.payload.operatorId), missing.map((r) => r.payload.eventId)],
  );
  const data = new Map(found.map((f) => [f.id, f.data]));
  for (const r of missing) r.payload = { ...r.payload, data: data.get(r.payload.eventId!) ?? {} };
  return rows;
}

/**
 * Takes up to `limit` due rows for this relay under a lease: their next attempt moves
 * `leaseSeconds` ahead in one short statement, so no transaction stays open while Temporal
 * is called and other relays skip them. If this process dies, the rows fall due again when
 * the lease ends and another relay starts them ("already started" counts as success).
 *
 * Fair across operators: rows are taken in turns, each operator's oldest due row first, then
 * each one's second, and so on, so one operator's backlog (a 5,000-event batch, a replay) does
 * not queue another operator's KYC check behind it. The operators are found by a skip scan of
 * the (operator_id, next_attempt_at) index, and each one's due rows by that index, so a lease
 * reads at most `limit` rows per operator however deep the backlog is. The locking select
 * re-checks that a row is still due, so a row another relay leased meanwhile is left alone.
 */
export async function leaseDueStarts(
  db: Queryable,
  limit: number,
  leaseSeconds: number,
): Promise<PendingStart[]> {
  const { rows } = await db.query<PendingStart>({
    name: 'lease-due-starts',
    text: `with recursive ops(op) as (
       (select operator_id from fanout_outbox order by operator_id limit 1)
       union all
       select (select f.operator_id from fanout_outbox f where f.operator_id > ops.op order by f.operator_id limit 1)
         from ops where ops.op is not null
     ), due as (
       select c.workflow_id, c.turn, c.next_attempt_at
         from ops cross join lateral (
           select f.workflow_id, f.next_attempt_at, row_number() over (order by f.next_attempt_at) as turn
             from fanout_outbox f
            where f.operator_id = ops.op and f.next_attempt_at <= clock_timestamp()
            order by f.next_attempt_at
            limit $1) c
        where ops.op is not null
     )
     update fanout_outbox o set next_attempt_at = clock_timestamp() + make_interval(secs => $2)
      where o.workflow_id in (
        select f.workflow_id
          from fanout_outbox f
          join (select workflow_id from due order by turn, next_attempt_at limit $1) pick using (workflow_id)
         where f.next_attempt_at <= clock_timestamp()
           for update of f skip locked)
      returning o.workflow_id, o.payload, o.search_attributes, o.definitions, o.attempts, o.start`,
    values: [limit, leaseSeconds],
  });
  return withEventData(db, rows);
}

// Rows leave the outbox through settleOutbox (core/db/waits.ts), which also matches them
// against open waits, in the same statement.

/** Exponential backoff, capped at one minute, so a long outage is retried steadily. */
export async function markFailed(
  db: Queryable,
  operatorId: string,
  workflowId: string,
  error: string,
): Promise<void> {
  await db.query(
    `update fanout_outbox
        set attempts = attempts + 1, last_error = left($2, 500),
            next_attempt_at = clock_timestamp() + least(interval '60 seconds', interval '500 milliseconds' * power(2, least(attempts, 10)))
      where operator_id = $3 and workflow_id = $1`,
    [workflowId, error, operatorId],
  );
}

export async function outboxStats(db: Queryable): Promise<{ backlog: number; oldestAgeSeconds: number }> {
  const { rows } = await db.query<{ backlog: number; oldest: number | null }>(
    `select count(*)::int as backlog, extract(epoch from clock_timestamp() - min(created_at))::float8 as oldest
       from fanout_outbox`,
  );
  return { backlog: rows[0]?.backlog ?? 0, oldestAgeSeconds: rows[0]?.oldest ?? 0 };
}

export async function isPending(
  db: Queryable,
  operatorId: string,
  workflowId: string,
): Promise<{ since: Date; attempts: number; definitions: string[] } | undefined> {
  const { rows } = await db.query<{ created_at: Date; attempts: number; definitions: string[] }>(
    'select created_at, attempts, definitions from fanout_outbox where operator_id = $1 and workflow_id = $2',
    [operatorId, workflowId],
  );
  const row = rows[0];
  return row ? { since: row.created_at, attempts: row.attempts, definitions: row.definitions } : undefined;
}
