import type { FanoutInput } from '../../workflows/types';
import * as SA from '../../workflows/search-attributes';
import { fanoutWorkflowId } from '../ids';
import { planParts, planSql, planWithSubscription, type PlanParts } from './plan';

/**
 * The one builder of a fan-out outbox row: its workflow id, its payload (the workflow's input
 * without the plan), its search attributes and its plan. Every writer (single and batch events,
 * entity and state changes, erasure) inserts through outboxRowSql, and the immediate path's copy
 * of an event's row comes from outboxEntry below, both from the same field lists.
 *
 * A shared SQL fragment rather than a Postgres function: the recording statement is the hot path
 * (bench/, "Ingest"), and a fragment costs nothing per row, where a plpgsql call per row would;
 * an SQL-language function returning a row is not reliably inlined in a select list, and its
 * shape would then change only by migration, apart from the TypeScript that reads it.
 */

/** The columns an outbox insert writes, in the order of outboxRowSql's select list. */
export const OUTBOX_COLUMNS =
  'workflow_id, operator_id, internal_event, payload, search_attributes, definitions';

/** The payload fields a row may carry, as SQL expressions (or values): FanoutInput's names. */
type Fields<T> = { [K in Exclude<keyof FanoutInput, 'webhooks'>]?: T } & {
  internalEvent: T;
  operatorId: T;
  externalId: T;
  occurredAt: T;
};

// The fields in payload order; a field left out (an event's data, read back from `events` by
// the relay) is not written.
const PAYLOAD_FIELDS = [
  'internalEvent',
  'operatorId',
  'externalId',
  'eventId',
  'eventType',
  'stateKey',
  'data',
  'occurredAt',
] as const satisfies ReadonlyArray<keyof Fields<unknown>>;

/** Search attribute name → the payload field it holds (no PII: ids and type names only). */
const SEARCH_ATTRIBUTE_FIELDS = [
  [SA.OperatorId.name, 'operatorId'],
  [SA.EntityExternalId.name, 'externalId'],
  [SA.InternalEvent.name, 'internalEvent'],
  [SA.EventType.name, 'eventType'],
] as const satisfies ReadonlyArray<readonly [string, keyof Fields<unknown>]>;

function present<T>(f: Fields<T>, names: ReadonlyArray<keyof Fields<T>>): Array<[keyof Fields<T>, T]> {
  return names.flatMap((n) => (f[n] === undefined ? [] : [[n, f[n] as T] as [keyof Fields<T>, T]]));
}

/** The plan, as SQL: its two parts (text[] expressions) and, when looked up once per group, the subscription. */
export interface PlanSql {
  always: string;
  ifSubscribed: string;
  /** A boolean expression (SUBSCRIPTIONS_SQL's `sub.subscribed`); without it, looked up per row. */
  subscribed?: string;
}

export interface OutboxRowSql {
  /** The event id (`eev_…`) or fan-out id (`ien_…`) after `<internal event>:` in the workflow id. */
  id: string;
  fields: Fields<string>;
  /** Where its webhooks go ({forward, alert}, SUBSCRIPTIONS_SQL's `sub.targets`): recorded events only. */
  webhookTargets?: string;
  plan: PlanSql;
}

/**
 * The select list for OUTBOX_COLUMNS, each expression named as its column:
 * `insert into fanout_outbox (OUTBOX_COLUMNS) select <this> from …`.
 */
export function outboxRowSql(r: OutboxRowSql): string {
  const { fields: f, plan } = r;
  const object = (pairs: Array<[string, string]>) =>
    `jsonb_build_object(${pairs.map(([k, v]) => `'${k}', ${v}`).join(', ')})`;
  const payload = object(present(f, PAYLOAD_FIELDS));
  const withWebhooks = r.webhookTargets
    ? `${payload} || case when ${r.webhookTargets} is null then '{}'::jsonb
                         else jsonb_build_object('webhooks', ${r.webhookTargets}) end`
    : payload;
  const attributes = object(
    SEARCH_ATTRIBUTE_FIELDS.flatMap(([name, field]) =>
      f[field] === undefined ? [] : [[name, `jsonb_build_array(${f[field]})`] as [string, string]],
    ),
  );
  const definitions =
    plan.subscribed === undefined
      ? planSql(f.operatorId, f.internalEvent, plan.always, plan.ifSubscribed)
      : planWithSubscription(f.operatorId, plan.subscribed, plan.always, plan.ifSubscribed);
  // Named as the columns, so a writer may filter on them (`where cardinality(r.definitions) > 0`).
  return [
    // fanoutWorkflowId (core/ids.ts), in SQL.
    `${f.internalEvent} || ':' || ${r.id} as workflow_id`,
    `${f.operatorId} as operator_id`,
    `${f.internalEvent} as internal_event`,
    `${withWebhooks} as payload`,
    `${attributes} as search_attributes`,
    `${definitions} as definitions`,
  ].join(',\n              ');
}

/**
 * One workflow to start, as the immediate path hands it to the dispatcher: its input and its
 * search attributes, the same as the outbox row the recording statement writes (plus the
 * event's data, which the row leaves to `events`; test/api/batch-outbox.test.ts compares).
 */
export interface OutboxEntry {
  workflowId: string;
  operatorId: string;
  internalEvent: string;
  payload: FanoutInput;
  searchAttributes: Record<string, string[]>;
  /** The plan as code decides it; the recording statement adds what needs a subscription. */
  plan: PlanParts;
}

export function outboxEntry(id: string, input: FanoutInput): OutboxEntry {
  const fields: Fields<unknown> = input;
  const payload = Object.fromEntries(present(fields, PAYLOAD_FIELDS)) as unknown as FanoutInput;
  const searchAttributes = Object.fromEntries(
    SEARCH_ATTRIBUTE_FIELDS.flatMap(([name, field]) =>
      input[field] === undefined ? [] : [[name, [String(input[field])]]],
    ),
  );
  return {
    workflowId: fanoutWorkflowId(input.internalEvent, id),
    operatorId: input.operatorId,
    internalEvent: input.internalEvent,
    payload,
    searchAttributes,
    plan: planParts(input),
  };
}
