import { findIdempotencyKey, listEvents, type EventRow, type RecordEventResult } from '../db/events';
import { entityExists } from '../db/entities';
import { apiError } from '../errors';
import { outboxEntry, type OutboxEntry } from '../fanout/outbox-row';
import type { FanoutInput } from '../../workflows/types';
import { newEventId } from '../ids';
import type { Template } from '../template/igaming';
import { validateEventData } from '../template/validate';
import type { DomainDeps } from './deps';
import { requestHash } from './request-hash';
import { writeEventsAgain } from './write-again';
import { encodeKeysetCursor, parseKeysetCursor, type KeysetCursor } from './keyset-cursor';

export const MAX_EVENT_DATA_BYTES = 32 * 1024;

export interface NewEvent {
  externalId: string;
  eventType: string;
  data: Record<string, unknown>;
}

/** Template and size checks shared by single and batch recording. Throws an ApiError. */
export function checkEvent(template: Template, e: NewEvent): void {
  const verdict = validateEventData(template, e.eventType, e.data);
  if (!verdict.ok)
    throw apiError({ code: 'VALIDATION_FAILED', message: verdict.message, details: verdict.details });
  const size = Buffer.byteLength(JSON.stringify(e.data), 'utf8');
  if (size > MAX_EVENT_DATA_BYTES) {
    throw apiError({
      code: 'PAYLOAD_TOO_LARGE',
      message: `data is ${size} bytes; the limit is ${MAX_EVENT_DATA_BYTES} bytes`,
      details: [{ field: 'data', reason: `must be at most ${MAX_EVENT_DATA_BYTES} bytes of JSON` }],
    });
  }
}

/**
 * The outbox entry of a recorded event, for single events and batches alike; its
 * `occurredAt` is filled in by the insert statement from the event's `created_at`.
 */
export function eventOutboxEntry(operatorId: string, id: string, e: NewEvent) {
  return outboxEntry(id, eventInput(operatorId, id, e));
}

/** A recorded event as its workflow (and a definition's condition) sees it. */
export function eventInput(operatorId: string, id: string, e: NewEvent): FanoutInput {
  return {
    internalEvent: `entity_event.${e.eventType}`,
    operatorId,
    externalId: e.externalId,
    eventId: id,
    eventType: e.eventType,
    data: e.data,
    occurredAt: '',
  };
}

export type RecordOutcome = { action: 'created'; id: string } | { action: 'duplicate'; id: string };

/**
 * Records one event and hands its fan-out to the dispatcher once committed. The caller is
 * answered without waiting for Temporal; the outbox row guarantees the start.
 */
export async function recordOneEvent(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  e: NewEvent,
  idempotencyKey: string | undefined,
): Promise<RecordOutcome> {
  checkEvent(template, e);
  const hash = idempotencyKey
    ? requestHash({ externalId: e.externalId, eventType: e.eventType, data: e.data })
    : '';
  for (let attempt = 1; ; attempt++) {
    const id = newEventId();
    const outbox = eventOutboxEntry(operatorId, id, e);
    try {
      const result = await deps.events.record({
        id,
        operatorId,
        externalId: e.externalId,
        eventType: e.eventType,
        data: e.data,
        idempotency: idempotencyKey ? { key: idempotencyKey, requestHash: hash } : undefined,
        plan: outbox.plan,
      });
      return await settle(deps, operatorId, e.externalId, outbox, result, idempotencyKey, hash);
    } catch (err) {
      // Nothing was written (the statement failed whole): the same event again, under a new id.
      if (!(await writeEventsAgain(deps.pool, err, attempt))) throw err;
    }
  }
}

const KEY_REUSED = () =>
  apiError({
    code: 'IDEMPOTENCY_KEY_REUSED',
    message: 'This Idempotency-Key was already used with a different request',
  });
const KEY_IN_FLIGHT = () =>
  apiError({
    code: 'IDEMPOTENCY_CONFLICT',
    message: 'A request with this Idempotency-Key is in flight; retry',
  });

/** Turns what the statement did with this request into its answer, and hands off its fan-out. */
async function settle(
  deps: DomainDeps,
  operatorId: string,
  externalId: string,
  outbox: OutboxEntry,
  result: RecordEventResult,
  idempotencyKey: string | undefined,
  hash: string,
): Promise<RecordOutcome> {
  switch (result.kind) {
    case 'entity_not_found':
      throw entityNotFound(externalId);
    case 'created':
      // The row as the relay would read it, built here rather than sent back by Postgres.
      deps.dispatcher.dispatch({
        workflow_id: outbox.workflowId,
        payload: {
          ...outbox.payload,
          occurredAt: result.occurredAt,
          ...(result.webhooks ? { webhooks: result.webhooks } : {}),
        },
        search_attributes: outbox.searchAttributes,
        definitions: result.definitions,
        attempts: 0,
      });
      return { action: 'created', id: result.id };
    case 'same_key_in_group':
      // Another request with this key was written in the same statement, just before this one.
      if (result.first.kind === 'created') {
        if (!result.sameRequest) throw KEY_REUSED();
        return { action: 'duplicate', id: result.first.id };
      }
      if (result.first.kind === 'entity_not_found') {
        if (result.sameRequest) throw entityNotFound(externalId);
        // Nobody holds the key now, but this request was not written: the client retries it.
        throw KEY_IN_FLIGHT();
      }
      break; // the first one found the key held before: look it up, as below
    case 'idempotency_hit':
      break;
  }
  const previous = await findIdempotencyKey(deps.pool, operatorId, 'event', idempotencyKey!);
  // The holder expired between our two statements: vanishingly rare; the caller may retry.
  if (!previous) throw KEY_IN_FLIGHT();
  if (previous.request_hash !== hash) throw KEY_REUSED();
  return { action: 'duplicate', id: previous.resource_id };
}

export const entityNotFound = (externalId: string) =>
  apiError({ code: 'ENTITY_NOT_FOUND', message: `No entity with externalId "${externalId}" exists` });

export interface EventPage {
  rows: EventRow[];
  hasMore: boolean;
  nextCursor: string | null;
}

export const encodeCursor = encodeKeysetCursor;

export function decodeCursor(cursor: string): KeysetCursor {
  const c = parseKeysetCursor(cursor, /^eev_[0-9a-f]{16}$/);
  if (c) return c;
  throw apiError({
    code: 'VALIDATION_FAILED',
    message: 'cursor is not a cursor returned by this API',
    details: [{ field: 'cursor', reason: 'is invalid' }],
  });
}

export async function listEntityEvents(
  deps: DomainDeps,
  operatorId: string,
  q: {
    externalId: string;
    type?: string;
    limit: number;
    offset: number;
    cursor?: string;
    since?: Date;
    until?: Date;
  },
): Promise<EventPage> {
  const before = q.cursor ? decodeCursor(q.cursor) : undefined;
  const rows = await listEvents(deps.pool, {
    operatorId,
    externalId: q.externalId,
    type: q.type,
    limit: q.limit,
    offset: q.offset,
    since: q.since,
    until: q.until,
    before: before ? { createdAt: before.t, id: before.i } : undefined,
  });
  // An empty page for an unknown entity would hide a typo; say ENTITY_NOT_FOUND instead.
  // Only checked when the page is empty, so the common case stays one query.
  if (
    rows.length === 0 &&
    !before &&
    q.offset === 0 &&
    !(await entityExists(deps.pool, operatorId, q.externalId))
  ) {
    throw entityNotFound(q.externalId);
  }
  const hasMore = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { rows: page, hasMore, nextCursor: hasMore && last ? encodeCursor(last) : null };
}
