import { OUTBOX_COLUMNS, outboxRowSql } from '../fanout/outbox-row';
import { planOf } from '../fanout/plan';
import type { PendingStart } from './outbox';
import type { Queryable } from './pool';

export interface StateRow {
  state_key: string;
  value: unknown;
  updated_at: Date;
  /** The write that set it (its outbox row is `entity_state.updated.<key>:<update_id>`). */
  update_id: string | null;
}

const TS = `to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Upserts one state value of a live entity and queues `entity_state.updated.<key>`: a workflow
 * when its plan is not empty (a definition or the operator's subscription wants it), else a
 * start-less row that only meets the entity's open waits (settleOutbox). Returns the queued
 * row, or undefined when the entity does not exist.
 */
export async function putState(
  db: Queryable,
  s: { operatorId: string; externalId: string; key: string; value: unknown; fanoutId: string },
): Promise<{ start: PendingStart | null } | undefined> {
  const internalEvent = `entity_state.updated.${s.key}`;
  const plan = planOf(internalEvent, {
    operatorId: s.operatorId,
    externalId: s.externalId,
    stateKey: s.key,
    data: { value: s.value },
  });
  const { rows } = await db.query<{ start: PendingStart | null }>(
    `with ent as (
       select 1 from entities where operator_id = $1 and external_id = $2 and deleted_at is null
     ), up as (
       insert into entity_states (operator_id, external_id, state_key, value, update_id)
       select $1, $2, $3, $4::jsonb, $5 from ent
       on conflict (operator_id, external_id, state_key) do update
         set value = excluded.value, updated_at = now(), update_id = excluded.update_id
       returning 1
     ), ob as (
       insert into fanout_outbox (${OUTBOX_COLUMNS}, start)
       select r.*, cardinality(r.definitions) > 0
         from (select ${outboxRowSql({
           id: '$5::text',
           fields: {
             internalEvent: '$6::text',
             operatorId: '$1::text',
             externalId: '$2::text',
             stateKey: '$3::text',
             data: `jsonb_build_object('value', $4::jsonb)`,
             occurredAt: TS,
           },
           plan: { always: '$7::text[]', ifSubscribed: '$8::text[]' },
         })} from up) r
       returning workflow_id, payload, search_attributes, definitions, attempts, start
     )
     select (select to_jsonb(ob) from ob) as start from up`,
    [
      s.operatorId,
      s.externalId,
      s.key,
      JSON.stringify(s.value),
      s.fanoutId,
      internalEvent,
      plan.always,
      plan.ifSubscribed,
    ],
  );
  return rows[0];
}

export async function listStates(db: Queryable, operatorId: string, externalId: string): Promise<StateRow[]> {
  const { rows } = await db.query<StateRow>(
    `select state_key, value, updated_at, update_id from entity_states
      where operator_id = $1 and external_id = $2 order by state_key`,
    [operatorId, externalId],
  );
  return rows;
}

export async function getState(
  db: Queryable,
  operatorId: string,
  externalId: string,
  key: string,
): Promise<StateRow | undefined> {
  const { rows } = await db.query<StateRow>(
    `select state_key, value, updated_at, update_id from entity_states
      where operator_id = $1 and external_id = $2 and state_key = $3`,
    [operatorId, externalId, key],
  );
  return rows[0];
}
