import { storedPayload, type OutboxEntry } from '../fanout/outbox-row';
import type { Queryable } from './pool';

export interface EventRow {
  id: string;
  /** created_at at full (microsecond) precision, for keyset cursors. */
  cursor_ts: string;
  event_type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

export type RecordEventResult =
  | { kind: 'created'; id: string; createdAt: Date; occurredAt: string }
  | { kind: 'entity_not_found' }
  | { kind: 'idempotency_hit' };

/**
 * Records one event in one round trip: checks the entity exists, claims the idempotency
 * key (an expired key is reclaimed), inserts the event and its outbox row (whose payload
 * leaves out `data`: storedPayload); only the event's id and time come back. The data-modifying
 * CTEs always run, but each selects from the previous one, so nothing is written when the
 * entity is missing or the key is already held. A concurrent request holding the same key
 * makes this statement wait on the unique index until it commits.
 */
export async function recordEvent(
  db: Queryable,
  e: {
    id: string;
    operatorId: string;
    externalId: string;
    eventType: string;
    data: Record<string, unknown>;
    idempotency?: { key: string; requestHash: string };
    outbox: OutboxEntry;
  },
): Promise<RecordEventResult> {
  const { rows } = await db.query<{
    entity_found: boolean;
    id: string | null;
    created_at: Date | null;
    occurred_at: string | null;
  }>({
    // Named: each pooled connection parses and plans this five-part statement once, not per
    // event (measured in bench/: Postgres CPU per recorded event, see docs/BENCHMARKS.md).
    name: 'record-event',
    text: `with ent as (
       select 1 from entities where operator_id = $1 and external_id = $2 and deleted_at is null
     ), claim as (
       insert into idempotency_keys (operator_id, scope, idem_key, request_hash, resource_id, expires_at)
       select $1, 'event', $6, $7, $3, now() + interval '24 hours' from ent where $6::text is not null
       on conflict (operator_id, scope, idem_key) do update
          set request_hash = excluded.request_hash, resource_id = excluded.resource_id,
              created_at = now(), expires_at = excluded.expires_at
        where idempotency_keys.expires_at <= now()
       returning 1
     ), ev as (
       insert into events (id, operator_id, external_id, event_type, data)
       select $3, $1, $2, $4, $5 from ent where $6::text is null or exists (select 1 from claim)
       returning id, created_at, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at
     ), ob as (
       insert into fanout_outbox (workflow_id, operator_id, internal_event, payload, search_attributes)
       select $8, $1, $9, jsonb_set($10::jsonb, '{occurredAt}', to_jsonb(ev.occurred_at)), $11
         from ev
     )
     select exists (select 1 from ent) as entity_found, ev.id, ev.created_at, ev.occurred_at
       from (select 1) one left join ev on true`,
    values: [
      e.operatorId,
      e.externalId,
      e.id,
      e.eventType,
      e.data,
      e.idempotency?.key ?? null,
      e.idempotency?.requestHash ?? null,
      e.outbox.workflowId,
      e.outbox.internalEvent,
      storedPayload(e.outbox),
      JSON.stringify(e.outbox.searchAttributes),
    ],
  });
  const row = rows[0]!;
  if (!row.entity_found) return { kind: 'entity_not_found' };
  if (row.id && row.created_at && row.occurred_at) {
    return { kind: 'created', id: row.id, createdAt: row.created_at, occurredAt: row.occurred_at };
  }
  return { kind: 'idempotency_hit' };
}

export interface IdempotencyRecord {
  request_hash: string;
  resource_id: string;
  response: unknown;
}

export async function findIdempotencyKey(
  db: Queryable,
  operatorId: string,
  scope: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const { rows } = await db.query<IdempotencyRecord>(
    `select request_hash, resource_id, response from idempotency_keys
      where operator_id = $1 and scope = $2 and idem_key = $3 and expires_at > now()`,
    [operatorId, scope, key],
  );
  return rows[0];
}

// Listing spans the hot table and the archive: core/db/event-listing.ts.
export { listEvents, type ListEventsQuery } from './event-listing';

export async function findEventForOperator(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<{ id: string; event_type: string; external_id: string } | undefined> {
  const { rows } = await db.query<{ id: string; event_type: string; external_id: string }>(
    'select id, event_type, external_id from events where id = $1 and operator_id = $2',
    [eventId, operatorId],
  );
  return rows[0];
}
