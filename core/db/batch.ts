import { OUTBOX_COLUMNS, outboxRowSql } from '../fanout/outbox-row';
import { partCsv, planOf, SUBSCRIPTIONS_SQL, type PlanParts } from '../fanout/plan';
import type { EntityWrite } from './entities';
import { EVENT_OUTBOX_ROW } from './events';
import type { Queryable } from './pool';

/**
 * Set-based writes behind the batch endpoints: each batch is one statement over `unnest`ed
 * arrays that writes the rows and their fan-out outbox rows together. The outbox rows are
 * due at once and left to the relay (nudged after commit), rather than sent back to be
 * started one by one: a 5,000-item batch would otherwise return 5,000 payloads, most of
 * which the dispatcher's in-flight budget would leave to the relay anyway. Items whose
 * entity does not exist (or is deleted) are left out; the caller tells them apart by the
 * keys that come back.
 *
 * Rows are written in key order so two concurrent batches touching the same keys lock them
 * in the same order and cannot deadlock.
 */

const TS = `to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** Batch outbox rows are the relay's from the start (see above). */
const DUE_NOW = 'clock_timestamp()';
/** A plan part sent per row as comma-joined text (arrays of arrays must be rectangular). */
const PART = (column: string) => `string_to_array(${column}, ',')`;
const LIVE_ENTITY = `exists (select 1 from entities e where e.operator_id = $1 and e.external_id = i.external_id and e.deleted_at is null)`;

export interface BatchEventRow {
  id: string;
  externalId: string;
  eventType: string;
  data: Record<string, unknown>;
  /** The event's plan as code decides it (core/fanout/plan.ts). */
  plan: PlanParts;
}

/**
 * Inserts the events of live entities and their outbox rows; returns the ids written.
 *
 * The outbox row is built in SQL as a single event's is (EVENT_OUTBOX_ROW), and the
 * events' data goes as one JSON array rather than a text[] of JSON documents: node-postgres
 * escapes every quote of every element of an array parameter, which was the batch path's
 * largest cost after parsing (measured in bench/, "Batch").
 */
export async function insertEvents(
  db: Queryable,
  operatorId: string,
  events: BatchEventRow[],
): Promise<Array<{ id: string }>> {
  if (events.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `with i as (
       select t.id, t.external_id, t.event_type, d.data, t.always, t.if_subscribed, t.ord,
              $1::text as operator_id, 'entity_event.' || t.event_type as internal_event
         from unnest($2::text[], $3::text[], $4::text[], $6::text[], $7::text[])
                with ordinality as t(id, external_id, event_type, always, if_subscribed, ord)
         join jsonb_array_elements($5::jsonb) with ordinality as d(data, ord) on d.ord = t.ord
     ), ev as (
       insert into events (id, operator_id, external_id, event_type, data)
       select i.id, $1, i.external_id, i.event_type, i.data from i where ${LIVE_ENTITY} order by i.ord
       returning id, created_at
     ), sub as (
       ${SUBSCRIPTIONS_SQL}
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS}, next_attempt_at)
       select ${outboxRowSql(EVENT_OUTBOX_ROW)}, ${DUE_NOW}
         from ev join i on i.id = ev.id left join sub on sub.internal_event = i.internal_event
     )
     select id from ev`,
    [
      operatorId,
      events.map((e) => e.id),
      events.map((e) => e.externalId),
      events.map((e) => e.eventType),
      JSON.stringify(events.map((e) => e.data)),
      events.map((e) => partCsv(e.plan.always)),
      events.map((e) => partCsv(e.plan.ifSubscribed)),
    ],
  );
  return rows;
}

/**
 * Upserts entities (externalIds must be distinct) and queues `entity.created` /
 * `entity.updated` for each whose plan is not empty, exactly as upsertEntity does for one: a soft-deleted entity
 * written again is created afresh; `prev` is the table as it was before this statement.
 */
export async function upsertEntities(
  db: Queryable,
  operatorId: string,
  entities: EntityWrite[],
): Promise<Array<{ externalId: string; id: string; action: 'created' | 'updated' }>> {
  if (entities.length === 0) return [];
  const { rows } = await db.query<{ externalId: string; id: string; action: 'created' | 'updated' }>(
    `with i as (
       select * from unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[], $7::text[],
                            $8::text[], $9::text[], $10::text[], $11::text[])
              as t(external_id, new_id, entity_type, data, pii, fanout_id,
                   created_always, created_if_subscribed, updated_always, updated_if_subscribed)
     ), prev as (
       select e.external_id from entities e join i on e.operator_id = $1 and e.external_id = i.external_id
        where e.deleted_at is null
     ), up as (
       insert into entities (operator_id, external_id, id, entity_type, data, pii)
       select $1, i.external_id, i.new_id, i.entity_type, i.data, i.pii from i order by i.external_id
       on conflict (operator_id, external_id) do update
          set entity_type = excluded.entity_type, data = excluded.data, pii = excluded.pii,
              updated_at = now(), deleted_at = null,
              id = case when entities.deleted_at is null then entities.id else excluded.id end,
              created_at = case when entities.deleted_at is null then entities.created_at else now() end
       returning external_id, id
     ), act as (
       select up.external_id, up.id, i.data, i.fanout_id,
              case when exists (select 1 from prev where prev.external_id = up.external_id) then 'updated' else 'created' end as action,
              i.created_always, i.created_if_subscribed, i.updated_always, i.updated_if_subscribed
         from up join i on i.external_id = up.external_id
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS}, next_attempt_at)
       select r.*, ${DUE_NOW}
         from (select ${outboxRowSql({
           id: 'act.fanout_id',
           fields: {
             internalEvent: `('entity.' || act.action)`,
             operatorId: '$1::text',
             externalId: 'act.external_id',
             data: 'act.data',
             occurredAt: TS,
           },
           plan: {
             always: `case when act.action = 'created' then ${PART('act.created_always')} else ${PART('act.updated_always')} end`,
             ifSubscribed: `case when act.action = 'created' then ${PART('act.created_if_subscribed')} else ${PART('act.updated_if_subscribed')} end`,
           },
         })} from act) r
        -- No workflow for nothing: a change no definition or subscription wants queues none.
        where cardinality(r.definitions) > 0
     )
     select act.external_id as "externalId", act.id, act.action from act`,
    [
      operatorId,
      entities.map((e) => e.externalId),
      entities.map((e) => e.newId),
      entities.map((e) => e.entityType),
      entities.map((e) => JSON.stringify(e.data)),
      entities.map((e) => e.pii),
      entities.map((e) => e.fanoutId),
      ...(['entity.created', 'entity.updated'] as const).flatMap((internalEvent) => {
        const plans = entities.map((e) =>
          planOf(internalEvent, { operatorId, externalId: e.externalId, data: e.data }),
        );
        return [plans.map((p) => partCsv(p.always)), plans.map((p) => partCsv(p.ifSubscribed))];
      }),
    ],
  );
  return rows;
}

export interface BatchStateRow {
  externalId: string;
  key: string;
  value: unknown;
  fanoutId: string;
}

/**
 * Upserts state values of live entities ((externalId, key) pairs must be distinct) and
 * queues `entity_state.updated.<key>` for each, as putState does for one (a start-less row,
 * for open waits only, where the plan is empty).
 */
export async function putStates(
  db: Queryable,
  operatorId: string,
  states: BatchStateRow[],
): Promise<Array<{ externalId: string; key: string }>> {
  if (states.length === 0) return [];
  const { rows } = await db.query<{ externalId: string; key: string }>(
    `with i as (
       select * from unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[])
              as t(external_id, state_key, value, fanout_id, always, if_subscribed)
     ), up as (
       insert into entity_states (operator_id, external_id, state_key, value, update_id)
       select $1, i.external_id, i.state_key, i.value, i.fanout_id from i where ${LIVE_ENTITY} order by i.external_id, i.state_key
       on conflict (operator_id, external_id, state_key) do update
         set value = excluded.value, updated_at = now(), update_id = excluded.update_id
       returning external_id, state_key
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS}, next_attempt_at, start)
       select r.*, ${DUE_NOW}, cardinality(r.definitions) > 0
         from (select ${outboxRowSql({
           id: 'i.fanout_id',
           fields: {
             internalEvent: `('entity_state.updated.' || i.state_key)`,
             operatorId: '$1::text',
             externalId: 'i.external_id',
             stateKey: 'i.state_key',
             data: `jsonb_build_object('value', i.value)`,
             occurredAt: TS,
           },
           plan: { always: PART('i.always'), ifSubscribed: PART('i.if_subscribed') },
         })} from up join i on i.external_id = up.external_id and i.state_key = up.state_key) r
     )
     select up.external_id as "externalId", up.state_key as key from up`,
    [
      operatorId,
      states.map((s) => s.externalId),
      states.map((s) => s.key),
      states.map((s) => JSON.stringify(s.value)),
      states.map((s) => s.fanoutId),
      ...(() => {
        const plans = states.map((s) =>
          planOf(`entity_state.updated.${s.key}`, {
            operatorId,
            externalId: s.externalId,
            stateKey: s.key,
            data: { value: s.value },
          }),
        );
        return [plans.map((p) => partCsv(p.always)), plans.map((p) => partCsv(p.ifSubscribed))];
      })(),
    ],
  );
  return rows;
}

export interface BatchJobError {
  index: number;
  externalId: string | null;
  code: string;
  message: string;
}

export interface BatchJobRow {
  id: string;
  kind: string;
  total: number;
  succeeded: number;
  failed: number;
  errors: BatchJobError[];
  created_at: Date;
}

export async function insertBatchJob(
  db: Queryable,
  j: {
    id: string;
    operatorId: string;
    kind: string;
    total: number;
    succeeded: number;
    failed: number;
    errors: BatchJobError[];
  },
): Promise<void> {
  await db.query(
    `insert into batch_jobs (id, operator_id, kind, total, succeeded, failed, errors) values ($1, $2, $3, $4, $5, $6, $7)`,
    [j.id, j.operatorId, j.kind, j.total, j.succeeded, j.failed, JSON.stringify(j.errors, storable)],
  );
}

/**
 * A refused item's error quotes what was sent (its externalId, an unknown type), which may
 * hold U+0000 or a lone surrogate that jsonb refuses: the stored job record shows U+FFFD
 * there instead, rather than the whole batch failing with a 500.
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what jsonb refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const storable = (_key: string, value: unknown): unknown =>
  typeof value === 'string' ? value.replace(UNSTORABLE, '\ufffd') : value;

export async function getBatchJob(
  db: Queryable,
  operatorId: string,
  jobId: string,
): Promise<BatchJobRow | undefined> {
  const { rows } = await db.query<BatchJobRow>(
    `select id, kind, total, succeeded, failed, errors, created_at from batch_jobs where operator_id = $1 and id = $2`,
    [operatorId, jobId],
  );
  return rows[0];
}
