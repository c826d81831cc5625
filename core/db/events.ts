import type { PlannedWebhooks } from '../../workflows/types';
import { OUTBOX_COLUMNS, outboxRowSql, type OutboxRowSql } from '../fanout/outbox-row';
import { partCsv, SUBSCRIPTIONS_SQL, type PlanParts } from '../fanout/plan';
import { PgCode, type Queryable } from './pool';

export interface EventRow {
  id: string;
  /** created_at at full (microsecond) precision, for keyset cursors. */
  cursor_ts: string;
  event_type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

export type RecordEventResult =
  | {
      kind: 'created';
      id: string;
      createdAt: Date;
      occurredAt: string;
      definitions: string[];
      webhooks?: PlannedWebhooks;
    }
  | { kind: 'entity_not_found' }
  /** The key was held before this statement: the caller looks up what it answered then. */
  | { kind: 'idempotency_hit' }
  /** The same key came twice in one group: the first item's outcome, for the caller to judge. */
  | { kind: 'same_key_in_group'; first: RecordEventResult; sameRequest: boolean };

/** One event to record. `operatorId` per item: a group may mix operators. */
export interface EventWrite {
  id: string;
  operatorId: string;
  externalId: string;
  eventType: string;
  data: Record<string, unknown>;
  idempotency?: { key: string; requestHash: string };
  /** The event's plan as code decides it (core/fanout/plan.ts). */
  plan: PlanParts;
}

const TS_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * An event's outbox row (core/fanout/outbox-row.ts) from a relation `i` (operator_id,
 * external_id, id, event_type, internal_event, always, if_subscribed as comma-joined parts),
 * `ev.created_at` and SUBSCRIPTIONS_SQL's `sub`; the same for single events and batches. It
 * leaves out the event's data (in `events`, up to 32 KB; the relay reads it back, see
 * leaseDueStarts), so it is neither sent nor stored twice.
 */
export const EVENT_OUTBOX_ROW: OutboxRowSql = {
  id: 'i.id',
  fields: {
    internalEvent: 'i.internal_event',
    operatorId: 'i.operator_id',
    externalId: 'i.external_id',
    eventId: 'i.id',
    eventType: 'i.event_type',
    occurredAt: `to_char(ev.created_at at time zone 'UTC', ${TS_MS})`,
  },
  webhookTargets: 'sub.targets',
  plan: {
    always: "string_to_array(i.always, ',')",
    ifSubscribed: "string_to_array(i.if_subscribed, ',')",
    subscribed: 'coalesce(sub.subscribed, false)',
  },
};

/**
 * Records a group of events in one statement (and so one commit): for each item it checks the
 * entity exists, claims the idempotency key (an expired key is reclaimed), inserts the event
 * and its outbox row (EVENT_OUTBOX_ROW) with the event's plan (planWithSubscription:
 * the operator's webhook subscription and switched-off definitions as of this transaction).
 * Each item gets its own outcome, in order. The data-modifying CTEs select from the previous ones, so nothing is
 * written for a missing entity or a held key. A key held by a concurrent transaction makes
 * this statement wait on the unique index until that one commits.
 *
 * A key that appears twice in the group is written once, by its first item (one statement
 * cannot claim a key twice); the others are answered from the first item's outcome.
 * Events get created_at from clock_timestamp(), so a group's events keep their order.
 */
export async function recordEvents(db: Queryable, items: EventWrite[]): Promise<RecordEventResult[]> {
  const firstWithKey = new Map<string, number>();
  const leaders: number[] = [];
  items.forEach((e, i) => {
    const key = e.idempotency ? JSON.stringify([e.operatorId, e.idempotency.key]) : undefined;
    if (key !== undefined && firstWithKey.has(key)) return;
    if (key !== undefined) firstWithKey.set(key, i);
    leaders.push(i);
  });
  const rows = leaders.map((i) => items[i]!);
  const { rows: out } = await db.query<{
    ord: string;
    entity_found: boolean;
    id: string | null;
    created_at: Date | null;
    occurred_at: string | null;
    definitions: string[] | null;
    webhooks: PlannedWebhooks | null;
  }>({
    // Named: each pooled connection parses and plans it once, whatever the group's size.
    name: 'record-events',
    text: `with i as (
       select t.*, d.data, 'entity_event.' || t.event_type as internal_event
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[], $7::text[], $8::text[], $9::text[])
                with ordinality as t(operator_id, external_id, id, event_type, idem_key, request_hash,
                                     always, if_subscribed, ord)
         join jsonb_array_elements($5::jsonb) with ordinality as d(data, ord) on d.ord = t.ord
     ), ent as (
       select i.ord from i
        where exists (select 1 from entities e
                       where e.operator_id = i.operator_id and e.external_id = i.external_id and e.deleted_at is null)
     ), claim as (
       insert into idempotency_keys (operator_id, scope, idem_key, request_hash, resource_id, expires_at)
       select i.operator_id, 'event', i.idem_key, i.request_hash, i.id, now() + interval '24 hours'
         from i join ent using (ord) where i.idem_key is not null
       on conflict (operator_id, scope, idem_key) do update
          set request_hash = excluded.request_hash, resource_id = excluded.resource_id,
              created_at = now(), expires_at = excluded.expires_at
        where idempotency_keys.expires_at <= now()
       returning resource_id
     ), ev as (
       insert into events (id, operator_id, external_id, event_type, data)
       select i.id, i.operator_id, i.external_id, i.event_type, i.data
         from i join ent using (ord)
        where i.idem_key is null or i.id in (select resource_id from claim)
        order by i.ord
       returning id, created_at, to_char(created_at at time zone 'UTC', ${TS_MS}) as occurred_at
     ), sub as (
       ${SUBSCRIPTIONS_SQL}
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS})
       select ${outboxRowSql(EVENT_OUTBOX_ROW)}
         from ev join i on i.id = ev.id
              left join sub on sub.operator_id = i.operator_id and sub.internal_event = i.internal_event
       returning payload->>'eventId' as event_id, definitions, payload->'webhooks' as webhooks
     )
     select i.ord, ent.ord is not null as entity_found, ev.id, ev.created_at, ev.occurred_at, ob.definitions,
            ob.webhooks
       from i left join ent using (ord) left join ev on ev.id = i.id left join ob on ob.event_id = i.id
      order by i.ord`,
    // The data goes as one JSON array, not a text[] of documents: node-postgres escapes every
    // quote of every array element (measured in bench/: its largest cost after parsing).
    values: [
      rows.map((e) => e.operatorId),
      rows.map((e) => e.externalId),
      rows.map((e) => e.id),
      rows.map((e) => e.eventType),
      JSON.stringify(rows.map((e) => e.data)),
      rows.map((e) => e.idempotency?.key ?? null),
      rows.map((e) => e.idempotency?.requestHash ?? null),
      rows.map((e) => partCsv(e.plan.always)),
      rows.map((e) => partCsv(e.plan.ifSubscribed)),
    ],
  });
  const results: RecordEventResult[] = new Array(items.length);
  out.forEach((row, n) => {
    results[leaders[n]!] = !row.entity_found
      ? { kind: 'entity_not_found' }
      : row.id && row.created_at && row.occurred_at
        ? {
            kind: 'created',
            id: row.id,
            createdAt: row.created_at,
            occurredAt: row.occurred_at,
            definitions: row.definitions ?? [],
            ...(row.webhooks ? { webhooks: row.webhooks } : {}),
          }
        : { kind: 'idempotency_hit' };
  });
  items.forEach((e, i) => {
    if (results[i] || !e.idempotency) return;
    const first = firstWithKey.get(JSON.stringify([e.operatorId, e.idempotency.key]))!;
    results[i] = {
      kind: 'same_key_in_group',
      first: results[first]!,
      sameRequest: items[first]!.idempotency!.requestHash === e.idempotency.requestHash,
    };
  });
  return results;
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
): Promise<{ id: string; event_type: string; external_id: string; created_at: Date } | undefined> {
  // The archive too: an event retention moved there is still the operator's, until archive_days.
  const { rows } = await db.query<{ id: string; event_type: string; external_id: string; created_at: Date }>(
    `select id, event_type, external_id, created_at from events where id = $1 and operator_id = $2
     union all
     select id, event_type, external_id, created_at from events_archive where id = $1 and operator_id = $2
     limit 1`,
    [eventId, operatorId],
  );
  return rows[0];
}

/**
 * Two events of one month drew the same id (core/ids.ts: 56 random bits after the month byte):
 * the month's unique index refused the statement. Nothing was written; the caller records the
 * event again under a new id.
 */
export function isEventIdClash(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return (
    e?.code === PgCode.UNIQUE_VIOLATION && /^events_(p\d{4}_\d{2}_id|legacy_pkey)$/.test(e.constraint ?? '')
  );
}
