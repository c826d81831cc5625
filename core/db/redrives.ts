import type { RedriveCriteria, RedriveMode } from '../../workflows/redrive-types';
import type { Queryable } from './pool';

/** A re-drive as the CLI registered it when it started its workflow (migration 011). */
export interface RegisteredRedrive {
  id: string;
  workflowId: string;
  mode: RedriveMode;
  definition: string;
}

// Arbitrary, distinct from the migrator's lock (727_001): the first key of the two-key advisory
// lock, so our per-definition locks cannot collide with other users of advisory locks.
const REDRIVE_LOCK_CLASS = 727_011;

/**
 * Serialises re-drive starts of one definition until the transaction ends: the overlap check,
 * the registration and the workflow start of one CLI happen before another's check begins.
 */
export async function lockRedrivesOf(db: Queryable, definition: string): Promise<void> {
  await db.query('select pg_advisory_xact_lock($1, hashtext($2))', [REDRIVE_LOCK_CLASS, definition]);
}

/**
 * Modes that select overlapping events: `redrive` and `redrive-failed` both re-run events that
 * planned the definition (the failed ones are in both), `backfill` only events that did not.
 */
const conflictingModes = (mode: RedriveMode): RedriveMode[] =>
  mode === 'backfill' ? ['backfill'] : ['redrive', 'redrive-failed'];

/**
 * Registered re-drives of the same definition whose events may be the same: a conflicting mode,
 * the same operator (or either covering all operators) and overlapping ranges. Running or
 * not is for the caller to ask Temporal.
 */
export async function registeredOverlaps(db: Queryable, c: RedriveCriteria): Promise<RegisteredRedrive[]> {
  const { rows } = await db.query<RegisteredRedrive>(
    `select id, workflow_id as "workflowId", mode, definition from redrives
      where definition = $1
        and mode = any($2::text[])
        and ($3::text is null or operator_id is null or operator_id = $3)
        and since < $5::timestamptz and $4::timestamptz < until
      order by created_at desc`,
    [c.definition, conflictingModes(c.mode), c.operatorId ?? null, c.since, c.until],
  );
  return rows;
}

/** Registers a re-drive; false if one with this id exists already (the same `--id` again). */
export async function registerRedrive(
  db: Queryable,
  r: RedriveCriteria & { id: string; workflowId: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into redrives (id, workflow_id, mode, definition, operator_id, since, until)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (id) do nothing`,
    [r.id, r.workflowId, r.mode, r.definition, r.operatorId ?? null, r.since, r.until],
  );
  return rowCount === 1;
}

/**
 * The re-drives that may have re-run an event: those whose range covers its creation time and
 * whose operator is the event's (or all operators). Newest first, at most `limit`: each is then
 * described in Temporal, so the answer stays bounded however many re-drives there were.
 */
export async function redrivesCovering(
  db: Queryable,
  q: { operatorId: string; createdAt: Date; limit: number },
): Promise<RegisteredRedrive[]> {
  const { rows } = await db.query<RegisteredRedrive>(
    `select id, workflow_id as "workflowId", mode, definition from redrives
      where (operator_id = $1 or operator_id is null)
        and since <= $2::timestamptz and $2::timestamptz < until
      order by created_at desc
      limit $3`,
    [q.operatorId, q.createdAt, q.limit],
  );
  return rows;
}
