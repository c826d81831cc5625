import type { Queryable } from './pool';

/**
 * Risk questions about an entity's transaction history, asked by the risk workflows'
 * activities. Each is anchored at the triggering event's `created_at` rather than now(),
 * so a retried or late activity answers the same question the event raised.
 */

const ANCHOR = `coalesce((select created_at from events where id = $3 and operator_id = $1), clock_timestamp())`;

/** True when no deposit of this entity was recorded before the given event. */
export async function isFirstDeposit(
  db: Queryable,
  q: { operatorId: string; externalId: string; eventId: string },
): Promise<boolean> {
  const { rows } = await db.query<{ first: boolean }>(
    // Archived deposits (past hot_days, see core/db/retention.ts) still count as earlier ones.
    `select not exists (
       select 1 from events
        where operator_id = $1 and external_id = $2 and event_type = 'transaction'
          and data->>'type' = 'deposit' and id <> $3
          and created_at <= ${ANCHOR}
       union all
       select 1 from events_archive
        where operator_id = $1 and external_id = $2 and event_type = 'transaction'
          and data->>'type' = 'deposit' and id <> $3
     ) as first`,
    [q.operatorId, q.externalId, q.eventId],
  );
  return rows[0]!.first;
}

export interface NetDeposits {
  deposits: number;
  withdrawals: number;
  net: number;
}

/**
 * Deposits minus withdrawals in one currency over the `windowDays` up to and including the
 * given event. Other transaction types (adjustments, …) do not count.
 */
export async function netDepositsInWindow(
  db: Queryable,
  q: { operatorId: string; externalId: string; eventId: string; currency: string; windowDays: number },
): Promise<NetDeposits> {
  const { rows } = await db.query<NetDeposits>(
    `with anchor as (select ${ANCHOR} as at), tx as (
       select data->>'type' as kind, (data->>'amount')::numeric as amount
         from events, anchor
        where operator_id = $1 and external_id = $2 and event_type = 'transaction'
          and data->>'currency' = $4 and jsonb_typeof(data->'amount') = 'number'
          and created_at > anchor.at - make_interval(days => $5) and created_at <= anchor.at
     )
     select coalesce(sum(amount) filter (where kind = 'deposit'), 0)::float8 as deposits,
            coalesce(sum(amount) filter (where kind = 'withdrawal'), 0)::float8 as withdrawals,
            (coalesce(sum(amount) filter (where kind = 'deposit'), 0)
              - coalesce(sum(amount) filter (where kind = 'withdrawal'), 0))::float8 as net
       from tx`,
    [q.operatorId, q.externalId, q.eventId, q.currency, q.windowDays],
  );
  return rows[0]!;
}

/**
 * Serialises read-modify-write of one entity's `risk_score` (several risk workflows may flag
 * the same deposit at once) until the caller's transaction ends. An advisory lock, because
 * the state row may not exist yet and locking the entity row would block its upserts.
 */
export async function lockRiskScore(tx: Queryable, operatorId: string, externalId: string): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/risk_score', 0))`, [
    operatorId,
    externalId,
  ]);
}
