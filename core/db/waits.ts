import type { WaitEvent } from '../../workflows/types';
import type { Queryable } from './pool';

/**
 * Waits (migration 014): a workflow waiting for a later internal event of its entity.
 *
 * Why no event can be missed. An internal event E and a wait W meet in one of two places:
 *  1. settleOutbox, the statement that takes E's outbox row out once E committed (the
 *     dispatcher or the relay runs it after starting E's workflow), joins the open waits and
 *     queues a signal for each match. Its snapshot is taken after E's commit.
 *  2. W's lookback (lookbackPage), read by the openWait activity in a statement after the one
 *     that committed W, returns the matching events recorded since W's own event.
 * If W committed before settleOutbox's snapshot, (1) sees W. Otherwise W committed after that
 * snapshot, which is after E's commit, so (2) sees E. Matching inside the recording statement
 * could not give this: its snapshot may predate W's commit while E commits after W's lookback.
 *
 * Why none is taken twice. Both may happen; and a crash between a signal and the deletion of
 * its row sends it again. Every event has one key (the id of its outbox row: its workflow ID,
 * e.g. `entity_event.document:eev_…`, `entity_state.updated.sof_status:ien_…`), the lookback
 * names it the same way, a signal row is unique per (workflow, key) and is sent with a request
 * id derived from both (Temporal drops a repeated request id), and the workflow keeps one copy
 * per key.
 *
 * Why none is lost. The signal row is written in the statement that deletes the outbox row, so
 * an API or relay killed after E's commit leaves the outbox row (the relay settles it later),
 * and one killed after settling leaves the signal row (the relay sends it later). Temporal
 * unreachable: both rows wait and are retried with backoff.
 */

/** ISO-8601 with microseconds, UTC: positions compare exactly, unlike millisecond text. */
const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const iso = (col: string) => `to_char(${col} at time zone 'UTC', ${ISO_US})`;

/** Events per lookback page: 20 × the 32 KB an event's data may hold stays inside a payload's limits. */
export const LOOKBACK_PAGE = 20;

export interface WaitRegistration {
  workflowId: string;
  waitId: string;
  operatorId: string;
  externalId: string;
  definition: string;
  internalEvents: string[];
  /** The workflow's own event: only events after it count. */
  eventId?: string;
  /** For workflows of other internal events (state changes): their time, as recorded. */
  occurredAt: string;
  label: string;
  deadline: string | null;
}

/**
 * Registers a wait (idempotent: a retried openWait finds its row). Its position is the
 * triggering event's own (created_at, id), read here rather than carried as text, so the
 * comparison keeps Postgres's microseconds.
 */
export async function registerWait(db: Queryable, w: WaitRegistration): Promise<void> {
  await db.query(
    `insert into entity_waits (workflow_id, wait_id, operator_id, external_id, definition, internal_events,
                               after_at, after_id, label, deadline)
     select $1, $2, $3, $4, $5, $6::text[], coalesce(ev.created_at, $8::timestamptz), coalesce(ev.id, ''), $9, $10::timestamptz
       from (select 1) one
       left join lateral (
         select created_at, id from events where id = $7 and operator_id = $3
         union all
         select created_at, id from events_archive where id = $7 and operator_id = $3
         limit 1) ev on true
     on conflict (workflow_id, wait_id) do nothing`,
    [
      w.workflowId,
      w.waitId,
      w.operatorId,
      w.externalId,
      w.definition,
      w.internalEvents,
      w.eventId ?? null,
      w.occurredAt,
      w.label,
      w.deadline,
    ],
  );
}

export interface LookbackPage {
  events: WaitEvent[];
  /** Set when more recorded events may match: pass it back as `after` for the next page. */
  next?: { at: string; id: string };
}

/**
 * The internal events of the wait's entity recorded after its position (and after `after`,
 * for later pages), oldest first: recorded events, then (on the first page) the current value
 * of each state it listens to if written since, and the entity's erasure if it happened since.
 * Empty when the wait is gone (closed by an earlier attempt).
 */
/** A wait's key; the operator's id with it, so every statement is bound to one operator. */
export interface WaitKey {
  operatorId: string;
  workflowId: string;
  waitId: string;
}

export async function lookbackPage(
  db: Queryable,
  q: WaitKey & { after?: { at: string; id: string } },
): Promise<LookbackPage> {
  const { rows } = await db.query<{ event: WaitEvent; at_us: string; id: string }>(
    `select jsonb_build_object('key', 'entity_event.' || e.event_type || ':' || e.id,
                               'internalEvent', 'entity_event.' || e.event_type,
                               'eventId', e.id, 'eventType', e.event_type, 'data', e.data,
                               'at', ${iso('e.created_at')}) as event,
            ${iso('e.created_at')} as at_us, e.id
       from entity_waits w
       join events e on e.operator_id = w.operator_id and e.external_id = w.external_id
      where w.operator_id = $6 and w.workflow_id = $1 and w.wait_id = $2
        and ('entity_event.' || e.event_type) = any(w.internal_events)
        and (e.created_at, e.id) > (w.after_at, w.after_id)
        and ($3::timestamptz is null or (e.created_at, e.id) > ($3::timestamptz, $4::text))
      order by e.created_at, e.id
      limit $5`,
    [q.workflowId, q.waitId, q.after?.at ?? null, q.after?.id ?? '', LOOKBACK_PAGE + 1, q.operatorId],
  );
  const more = rows.length > LOOKBACK_PAGE;
  const page = rows.slice(0, LOOKBACK_PAGE);
  const events = page.map((r) => r.event);
  const last = page[page.length - 1];
  if (more && last) return { events, next: { at: last.at_us, id: last.id } };
  if (q.after) return { events };
  return { events: [...events, ...(await otherSince(db, q))] };
}

/**
 * States written, the erasure and provider results (their data as core/db/provider-result-event.ts
 * writes it), since the wait's position: the states' latest, one each.
 */
async function otherSince(db: Queryable, q: WaitKey): Promise<WaitEvent[]> {
  const { rows } = await db.query<{ event: WaitEvent }>(
    `select jsonb_build_object('key', 'entity_state.updated.' || s.state_key || ':' || s.update_id,
                               'internalEvent', 'entity_state.updated.' || s.state_key,
                               'stateKey', s.state_key, 'data', jsonb_build_object('value', s.value),
                               'at', ${iso('s.updated_at')}) as event
       from entity_waits w
       join entity_states s on s.operator_id = w.operator_id and s.external_id = w.external_id
      where w.operator_id = $3 and w.workflow_id = $1 and w.wait_id = $2 and s.update_id is not null
        and ('entity_state.updated.' || s.state_key) = any(w.internal_events)
        and s.updated_at > w.after_at
     union all
     select jsonb_build_object('key', 'entity.deleted:' || w.external_id, 'internalEvent', 'entity.deleted',
                               'data', '{}'::jsonb, 'at', ${iso('en.deleted_at')})
       from entity_waits w
       join entities en on en.operator_id = w.operator_id and en.external_id = w.external_id
      where w.operator_id = $3 and w.workflow_id = $1 and w.wait_id = $2 and 'entity.deleted' = any(w.internal_events)
        and en.deleted_at is not null and en.deleted_at > w.after_at
     union all
     select jsonb_build_object('key', 'provider.webhook.kyc.' || i.result || ':' || i.id,
                               'internalEvent', 'provider.webhook.kyc.' || i.result,
                               'data', jsonb_build_object('checkId', i.kyc_check_id, 'applicantId', i.applicant_id,
                                 'provider', i.provider, 'result', i.result,
                                 'providerTimestamp', to_char(i.provider_timestamp at time zone 'UTC',
                                                              'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                 'deliveryId', i.id) || coalesce(i.result_details, '{}'::jsonb),
                               'at', ${iso('i.received_at')}) as event
       from entity_waits w
       join provider_webhook_inbox i on i.operator_id = w.operator_id and i.external_id = w.external_id
      where w.operator_id = $3 and w.workflow_id = $1 and w.wait_id = $2 and i.outcome = 'accepted'
        and ('provider.webhook.kyc.' || i.result) = any(w.internal_events)
        and i.received_at > w.after_at`,
    [q.workflowId, q.waitId, q.operatorId],
  );
  return rows.map((r) => r.event);
}

/** What ended a wait that its definition's cancelOn (or the erasure) cancelled. */
export interface WaitCancellation {
  definition: string;
  internalEvent: string;
  eventId: string | null;
  /** The cancelling event's time (ISO). */
  at: string;
}

/**
 * Ends a wait: no more signals are queued for it. A cancelled one leaves what cancelled it in
 * cancelled_waits, in the same statement (a retried close writes it once).
 */
export async function closeWait(
  db: Queryable,
  q: WaitKey & { cancelledBy?: WaitCancellation },
): Promise<void> {
  const c = q.cancelledBy;
  await db.query(
    `with closed as (
       delete from entity_waits where operator_id = $1 and workflow_id = $2 and wait_id = $3
     )
     insert into cancelled_waits (operator_id, workflow_id, definition, internal_event, event_id, event_at)
     select $1, $2, $4::text, $5::text, $6::text, $7::timestamptz where $4::text is not null
     on conflict do nothing`,
    [
      q.operatorId,
      q.workflowId,
      q.waitId,
      c?.definition ?? null,
      c?.internalEvent ?? null,
      c?.eventId ?? null,
      c?.at ?? null,
    ],
  );
}

/** Cancellations older than the operator's hot horizon: their workflows are long closed. */
export async function pruneCancelledWaits(db: Queryable, operatorId: string, before: Date): Promise<number> {
  const { rowCount } = await db.query(
    'delete from cancelled_waits where operator_id = $1 and closed_at < $2',
    [operatorId, before],
  );
  return rowCount ?? 0;
}

/** A workflow found closed (completed, terminated): its waits can never be satisfied. */
export async function dropWaitsOf(db: Queryable, operatorId: string, workflowId: string): Promise<void> {
  await db.query('delete from entity_waits where operator_id = $1 and workflow_id = $2', [
    operatorId,
    workflowId,
  ]);
}

/** A matched internal event to signal to the waiting workflow. */
export interface WaitSignal {
  workflow_id: string;
  operator_id: string;
  event_key: string;
  payload: WaitEvent;
}

/**
 * Takes the outbox rows of started (or start-less) internal events out, and queues a signal
 * for every open wait each one matches, in one statement (see the proof above). Rows a relay
 * holds locked are skipped: that relay settles them itself. Answers the queued signals for
 * the caller to send at once; the relay sends any it does not.
 */
export async function settleOutbox(
  db: Queryable,
  settled: ReadonlyArray<{ operatorId: string; workflowId: string }>,
): Promise<WaitSignal[]> {
  if (settled.length === 0) return [];
  const { rows } = await db.query<WaitSignal>({
    name: 'settle-outbox',
    text: `with done as (
       delete from fanout_outbox o
        where o.operator_id = any($2::text[]) and o.workflow_id in (
          select workflow_id from fanout_outbox
           where operator_id = any($2::text[]) and workflow_id = any($1::text[]) for update skip locked)
       returning o.workflow_id, o.operator_id, o.internal_event, o.payload, o.created_at
     ), matched as (
       select distinct on (w.workflow_id, d.workflow_id)
              w.workflow_id as waiting, d.workflow_id as event_key, d.operator_id,
              jsonb_build_object('key', d.workflow_id, 'internalEvent', d.internal_event,
                                 'eventId', e.id, 'eventType', e.event_type,
                                 'stateKey', d.payload->'stateKey',
                                 'data', coalesce(e.data, d.payload->'data', '{}'::jsonb),
                                 'at', ${iso('coalesce(e.created_at, d.created_at)')}) as payload
         from done d
         join entity_waits w on w.operator_id = d.operator_id and w.external_id = d.payload->>'externalId'
                            and d.internal_event = any(w.internal_events)
         left join events e on e.id = d.payload->>'eventId' and e.operator_id = d.operator_id
        where case when e.id is not null then (e.created_at, e.id) > (w.after_at, w.after_id)
                   else d.created_at > w.after_at end
     )
     insert into wait_signals (workflow_id, event_key, operator_id, payload)
     select waiting, event_key, operator_id, payload from matched
     on conflict (workflow_id, event_key) do nothing
     returning workflow_id, operator_id, event_key, payload`,
    values: [settled.map((r) => r.workflowId), [...new Set(settled.map((r) => r.operatorId))]],
  });
  return rows;
}

/** Due signals for a relay, under a lease (as leaseDueStarts): another relay skips them meanwhile. */
export async function leaseDueSignals(
  db: Queryable,
  limit: number,
  leaseSeconds: number,
): Promise<WaitSignal[]> {
  const { rows } = await db.query<WaitSignal>(
    `update wait_signals s set next_attempt_at = clock_timestamp() + make_interval(secs => $2)
      where (s.workflow_id, s.event_key) in (
        select workflow_id, event_key from wait_signals
         where next_attempt_at <= clock_timestamp()
         order by next_attempt_at
         limit $1
           for update skip locked)
      returning s.workflow_id, s.operator_id, s.event_key, s.payload`,
    [limit, leaseSeconds],
  );
  return rows;
}

/** Delivered (or its workflow closed): the row goes. */
export async function clearSignal(db: Queryable, signal: WaitSignal): Promise<void> {
  await db.query('delete from wait_signals where operator_id = $1 and workflow_id = $2 and event_key = $3', [
    signal.operator_id,
    signal.workflow_id,
    signal.event_key,
  ]);
}

/** Backoff as for workflow starts: capped at a minute, so a long outage is retried steadily. */
export async function markSignalFailed(db: Queryable, signal: WaitSignal, error: string): Promise<void> {
  await db.query(
    `update wait_signals
        set attempts = attempts + 1, last_error = left($3, 500),
            next_attempt_at = clock_timestamp() + least(interval '60 seconds', interval '500 milliseconds' * power(2, least(attempts, 10)))
      where operator_id = $4 and workflow_id = $1 and event_key = $2`,
    [signal.workflow_id, signal.event_key, error, signal.operator_id],
  );
}

/** An event's open waits, for its fan-out status (read from here: no worker needed). */
export interface OpenWait {
  definition: string;
  label: string;
  internalEvents: string[];
  deadline: string | null;
  openedAt: string;
}

/** A workflow's waits as its fan-out status shows them: open ones, and those a later event cancelled. */
export interface WaitsOfWorkflow {
  open: OpenWait[];
  cancelled: WaitCancellation[];
}

/** Both in one statement: the status request reads them on every call. */
export async function waitsOf(
  db: Queryable,
  operatorId: string,
  workflowId: string,
): Promise<WaitsOfWorkflow> {
  const { rows } = await db.query<WaitsOfWorkflow>(
    `select
       (select coalesce(json_agg(json_build_object(
                 'definition', w.definition, 'label', w.label, 'internalEvents', w.internal_events,
                 'deadline', ${iso('w.deadline')}, 'openedAt', ${iso('w.opened_at')})
               order by w.opened_at), '[]'::json)
          from entity_waits w where w.operator_id = $1 and w.workflow_id = $2) as open,
       (select coalesce(json_agg(json_build_object(
                 'definition', c.definition, 'internalEvent', c.internal_event,
                 'eventId', c.event_id, 'at', ${iso('c.event_at')})), '[]'::json)
          from cancelled_waits c where c.operator_id = $1 and c.workflow_id = $2) as cancelled`,
    [operatorId, workflowId],
  );
  return rows[0]!;
}
