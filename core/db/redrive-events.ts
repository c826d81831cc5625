import type { Queryable } from './pool';
import type { RedriveCursor } from '../../workflows/redrive-types';

export interface RedriveEventRow {
  id: string;
  operator_id: string;
  external_id: string;
  event_type: string;
  data: Record<string, unknown>;
  /** ISO, millisecond precision: also the keyset cursor (created_at is stored in microseconds). */
  created_at: string;
  created_at_exact: string;
}

/**
 * One page of recorded events in [since, until), optionally of one operator, whose internal
 * event (`entity_event.<type>`) one of `triggers` matches (internal_event_matches, migration
 * 013: the rule of triggerMatches in workflows/definition.ts), in (created_at, id) order after
 * `after`. Keyset pagination: each page costs the same however deep into the range it is.
 * The cursor carries created_at as Postgres text (microseconds), so no event is skipped or
 * read twice at a millisecond boundary.
 */
export async function redriveEventsPage(
  db: Queryable,
  q: {
    operatorId?: string;
    since: string;
    until: string;
    /** A definition's triggers: names, or prefixes ending in `*`. */
    triggers: string[];
    after: RedriveCursor | null;
    limit: number;
    /**
     * Leaves out operators whose newest workflow settings switch this definition off
     * (migration 010): a backfill runs a definition where it would be planned today.
     */
    unlessDisabled?: string;
  },
): Promise<RedriveEventRow[]> {
  const { rows } = await db.query<RedriveEventRow>(
    `select id, operator_id, external_id, event_type, data,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
            created_at::text as created_at_exact
       from events
      where ($1::text is null or operator_id = $1)
        and created_at >= $2::timestamptz and created_at < $3::timestamptz
        and exists (select 1 from unnest($4::text[]) t where internal_event_matches(t, 'entity_event.' || event_type))
        and ($5::timestamptz is null or (created_at, id) > ($5::timestamptz, $6::text))
        -- The recording statement's own test of "switched off" (migration 010).
        and ($8::text is null or cardinality(fanout_enabled_plan(events.operator_id, array[$8::text])) > 0)
      -- Qualified: a bare created_at would name the millisecond text column above, and pages
      -- cut inside one millisecond would skip and repeat events against the microsecond cursor.
      order by events.created_at, events.id
      limit $7`,
    [
      q.operatorId ?? null,
      q.since,
      q.until,
      q.triggers,
      q.after?.createdAt ?? null,
      q.after?.id ?? null,
      q.limit,
      q.unlessDisabled ?? null,
    ],
  );
  return rows;
}

/**
 * The newest event in [since, until) that retention already moved to the archive, if any: a
 * re-drive reads the hot table only, so its range must start after it.
 */
export async function newestArchivedInRange(
  db: Queryable,
  q: { operatorId?: string; since: string; until: string },
): Promise<Date | null> {
  const { rows } = await db.query<{ newest: Date | null }>(
    `select max(created_at) as newest from events_archive
      where ($1::text is null or operator_id = $1)
        and created_at >= $2::timestamptz and created_at < $3::timestamptz`,
    [q.operatorId ?? null, q.since, q.until],
  );
  return rows[0]?.newest ?? null;
}
