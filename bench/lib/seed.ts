import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../core/db/pool';

/** A random 8-hex prefix so ids made by generate_series never collide across runs. */
const prefix = () => randomBytes(4).toString('hex');

/**
 * Inserts `count` game_activity events for one entity in one set-based statement, spaced 1 ms apart
 * in created_at (newest = now), with ids in the product's format (eev_ + 16 hex).
 * With `outbox`, also writes each event's outbox row, due at once, as recording would for an
 * operator without a webhook subscription (a game round's plan is empty).
 */
export async function seedEvents(
  db: Queryable,
  o: { operatorId: string; externalId: string; count: number; outbox: boolean },
): Promise<void> {
  const p = prefix();
  const events = `insert into events (id, operator_id, external_id, event_type, data, created_at)
      select 'eev_' || $3 || lpad(to_hex(g), 8, '0'), $1, $2, 'game_activity',
             jsonb_build_object('game_id', 'slot_starburst', 'bet_amount', 2.5, 'currency', 'GBP', 'round_id', 'r_' || g),
             clock_timestamp() - make_interval(secs => ($4 - g) / 1000.0)
        from generate_series(1, $4) g`;
  if (!o.outbox) {
    await db.query(events, [o.operatorId, o.externalId, p, o.count]);
    return;
  }
  await db.query(
    `with ev as (${events} returning id, external_id, data, created_at)
     insert into fanout_outbox (workflow_id, operator_id, internal_event, payload, search_attributes, next_attempt_at, definitions)
     select 'entity_event.game_activity:' || id, $1, 'entity_event.game_activity',
            jsonb_build_object('internalEvent', 'entity_event.game_activity', 'operatorId', $1, 'externalId', external_id,
                               'eventId', id, 'eventType', 'game_activity', 'data', data,
                               'occurredAt', to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
            jsonb_build_object('OperatorId', jsonb_build_array($1::text), 'EntityExternalId', jsonb_build_array(external_id),
                               'EventType', jsonb_build_array('game_activity'), 'InternalEvent', jsonb_build_array('entity_event.game_activity')),
            clock_timestamp(), '{}'::text[]
       from ev`,
    [o.operatorId, o.externalId, p, o.count],
  );
}

export async function outboxCount(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from fanout_outbox');
  return rows[0]!.n;
}

export async function eventCount(db: Queryable, operatorId: string, externalId?: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'select count(*)::int as n from events where operator_id = $1 and ($2::text is null or external_id = $2)',
    [operatorId, externalId ?? null],
  );
  return rows[0]!.n;
}
