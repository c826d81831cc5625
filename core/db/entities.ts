import { OUTBOX_COLUMNS, outboxRowSql } from '../fanout/outbox-row';
import { planOf } from '../fanout/plan';
import type { PendingStart } from './outbox';
import type { Queryable } from './pool';

export interface EntityRow {
  id: string;
  external_id: string;
  entity_type: string;
  data: Record<string, unknown>;
  pii: Buffer | null;
  created_at: Date;
  updated_at: Date;
}

const TS = `to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** One entity as written: its non-PII data, its encrypted PII, and the IDs a write needs. */
export interface EntityWrite {
  externalId: string;
  /** Used only when the write creates the entity. */
  newId: string;
  entityType: string;
  data: Record<string, unknown>;
  pii: Buffer | null;
  fanoutId: string;
}

/**
 * Upserts an entity and queues its `entity.created` / `entity.updated` fan-out in one
 * statement. A soft-deleted entity written again is created afresh (new id, new created_at).
 * `prev` reads the row as it was before this statement, which is how we tell the two apart.
 */
export async function upsertEntity(
  db: Queryable,
  e: EntityWrite & { operatorId: string },
): Promise<{ id: string; action: 'created' | 'updated'; start: PendingStart | null }> {
  const fields = { operatorId: e.operatorId, externalId: e.externalId, data: e.data };
  const created = planOf('entity.created', fields);
  const updated = planOf('entity.updated', fields);
  const { rows } = await db.query<{ id: string; action: 'created' | 'updated'; start: PendingStart | null }>(
    `with prev as (
       select id, deleted_at from entities where operator_id = $1 and external_id = $2
     ), up as (
       insert into entities (operator_id, external_id, id, entity_type, data, pii)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (operator_id, external_id) do update
          set entity_type = excluded.entity_type, data = excluded.data, pii = excluded.pii,
              updated_at = now(), deleted_at = null,
              id = case when entities.deleted_at is null then entities.id else excluded.id end,
              created_at = case when entities.deleted_at is null then entities.created_at else now() end
       returning id
     ), act as (
       select up.id,
              case when exists (select 1 from prev where deleted_at is null) then 'updated' else 'created' end as action
         from up
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS})
       select r.*
         from (select ${outboxRowSql({
           id: '$7::text',
           fields: {
             internalEvent: `('entity.' || act.action)`,
             operatorId: '$1::text',
             externalId: '$2::text',
             data: '$5::jsonb',
             occurredAt: TS,
           },
           plan: {
             always: `case when act.action = 'created' then $8::text[] else $10::text[] end`,
             ifSubscribed: `case when act.action = 'created' then $9::text[] else $11::text[] end`,
           },
         })} from act) r
        -- No workflow for nothing: a change no definition or subscription wants queues none.
        where cardinality(r.definitions) > 0
       returning workflow_id, payload, search_attributes, definitions, attempts, start
     )
     select act.id, act.action, (select to_jsonb(ob) from ob) as start from act`,
    [
      e.operatorId,
      e.externalId,
      e.newId,
      e.entityType,
      e.data,
      e.pii,
      e.fanoutId,
      created.always,
      created.ifSubscribed,
      updated.always,
      updated.ifSubscribed,
    ],
  );
  return rows[0]!;
}

export async function getEntity(
  db: Queryable,
  operatorId: string,
  externalId: string,
): Promise<EntityRow | undefined> {
  const { rows } = await db.query<EntityRow>(
    `select id, external_id, entity_type, data, pii, created_at, updated_at
       from entities where operator_id = $1 and external_id = $2 and deleted_at is null`,
    [operatorId, externalId],
  );
  return rows[0];
}

export async function entityExists(db: Queryable, operatorId: string, externalId: string): Promise<boolean> {
  const { rows } = await db.query(
    'select 1 from entities where operator_id = $1 and external_id = $2 and deleted_at is null',
    [operatorId, externalId],
  );
  return rows.length > 0;
}

/**
 * GDPR erasure: the PII ciphertext and every PII field are overwritten, states dropped, and
 * the row kept only as a tombstone so events stay attached. Queues `entity.deleted`: a
 * workflow when its plan is not empty, and in any case a row that ends the entity's open
 * waits (settleOutbox matches it after commit). Undefined when there was no live entity.
 */
export async function softDeleteEntity(
  db: Queryable,
  e: { operatorId: string; externalId: string; fanoutId: string; piiFields: string[] },
): Promise<{ start: PendingStart | null } | undefined> {
  const plan = planOf('entity.deleted', { operatorId: e.operatorId, externalId: e.externalId, data: {} });
  const { rows } = await db.query<{ start: PendingStart | null }>(
    `with del as (
       update entities set deleted_at = now(), pii = null, data = data - $4::text[], updated_at = now()
        where operator_id = $1 and external_id = $2 and deleted_at is null
       returning id
     ), st as (
       delete from entity_states s using del where s.operator_id = $1 and s.external_id = $2
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS}, start)
       select r.*, cardinality(r.definitions) > 0
         from (select ${outboxRowSql({
           id: '$3::text',
           fields: {
             internalEvent: `'entity.deleted'::text`,
             operatorId: '$1::text',
             externalId: '$2::text',
             data: `'{}'::jsonb`,
             occurredAt: TS,
           },
           plan: { always: '$5::text[]', ifSubscribed: '$6::text[]' },
         })} from del) r
       returning workflow_id, payload, search_attributes, definitions, attempts, start
     )
     select (select to_jsonb(ob) from ob) as start from del`,
    [e.operatorId, e.externalId, e.fanoutId, e.piiFields, plan.always, plan.ifSubscribed],
  );
  return rows[0];
}
