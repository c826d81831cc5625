import type { RetentionRule } from './operators';
import type { Queryable } from './pool';

export interface RetentionTarget {
  operatorId: string;
  events: RetentionRule;
}

/** Operators whose settings carry an `entity_events` retention rule. */
export async function listEventRetentionTargets(db: Queryable): Promise<RetentionTarget[]> {
  const { rows } = await db.query<{ id: string; hot_days: number; archive_days: number }>(
    `select id,
            (retention_policy->'entity_events'->>'hot_days')::int as hot_days,
            (retention_policy->'entity_events'->>'archive_days')::int as archive_days
       from operators
      where retention_policy->'entity_events'->>'hot_days' is not null
        and retention_policy->'entity_events'->>'archive_days' is not null
      order by id`,
  );
  return rows.map((r) => ({
    operatorId: r.id,
    events: { hot_days: r.hot_days, archive_days: r.archive_days },
  }));
}

/**
 * Moves up to `limit` of the operator's events created before `cutoff` into events_archive,
 * in one statement (delete … returning feeds the insert, so a row is never in both or
 * neither; an id already archived would fail the statement rather than lose the row). SKIP LOCKED lets two sweeps run side by side without waiting on each other.
 */
export async function archiveEventsBatch(
  db: Queryable,
  q: { operatorId: string; cutoff: Date; limit: number },
): Promise<number> {
  const { rowCount } = await db.query(
    `with moved as (
       delete from events
        where operator_id = $1 and id in (select id from events
                      where operator_id = $1 and created_at < $2
                      order by created_at
                      limit $3
                      for update skip locked)
       returning id, operator_id, external_id, event_type, data, created_at
     )
     insert into events_archive (id, operator_id, external_id, event_type, data, created_at)
     select id, operator_id, external_id, event_type, data, created_at from moved`,
    [q.operatorId, q.cutoff, q.limit],
  );
  return rowCount ?? 0;
}

/** Removes up to `limit` of the operator's archived events created before `cutoff`. */
export async function purgeArchiveBatch(
  db: Queryable,
  q: { operatorId: string; cutoff: Date; limit: number },
): Promise<number> {
  const { rowCount } = await db.query(
    `delete from events_archive
      where operator_id = $1 and id in (select id from events_archive
                    where operator_id = $1 and created_at < $2
                    order by created_at
                    limit $3
                    for update skip locked)`,
    [q.operatorId, q.cutoff, q.limit],
  );
  return rowCount ?? 0;
}
