import { randomBytes } from 'node:crypto';
import type { Queryable } from './pool';

export type WebhookMessageStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookAttemptRecord {
  operatorId: string;
  endpointId: string;
  messageId: string;
  eventType: string;
  payload: unknown;
  attempt: number;
  /** The message's status after this attempt: delivered, pending (retried later) or failed. */
  status: WebhookMessageStatus;
  statusCode: number | null;
  durationMs: number;
  responseExcerpt: string | null;
  error: string | null;
  nextAttemptAt: Date | null;
}

/** Logs one delivery attempt and the message's state after it, in one statement. */
export async function recordWebhookAttempt(db: Queryable, a: WebhookAttemptRecord): Promise<void> {
  await db.query(
    `with message as (
       insert into webhook_messages
              (id, operator_id, endpoint_id, message_id, event_type, payload, status, attempts, last_status_code, next_attempt_at)
       values ($1, $2, $3, $4, $5, $13, $6, 1, $8, $12)
       on conflict (endpoint_id, message_id) do update
          set status = excluded.status, attempts = webhook_messages.attempts + 1,
              last_status_code = excluded.last_status_code, next_attempt_at = excluded.next_attempt_at,
              updated_at = now()
       returning id)
     insert into webhook_attempts
            (operator_id, message_row, attempt, status_code, duration_ms, response_excerpt, error, next_attempt_at)
     select $2, id, $7, $8, $9, $10, $11, $12 from message`,
    [
      'wmsg_' + randomBytes(8).toString('hex'),
      a.operatorId,
      a.endpointId,
      a.messageId,
      a.eventType,
      a.status,
      a.attempt,
      a.statusCode,
      a.durationMs,
      a.responseExcerpt,
      a.error,
      a.nextAttemptAt,
      JSON.stringify(a.payload),
    ],
  );
}

/** What a resend needs of one of the operator's messages. */
export async function findWebhookMessage(
  db: Queryable,
  operatorId: string,
  id: string,
): Promise<{ endpointId: string; messageId: string; payload: unknown } | undefined> {
  const { rows } = await db.query<{ endpoint_id: string; message_id: string; payload: string }>(
    'select endpoint_id, message_id, payload from webhook_messages where operator_id = $1 and id = $2',
    [operatorId, id],
  );
  const r = rows[0];
  return r
    ? { endpointId: r.endpoint_id, messageId: r.message_id, payload: JSON.parse(r.payload) as unknown }
    : undefined;
}

export interface WebhookMessageRow {
  id: string;
  endpoint_id: string;
  message_id: string;
  event_type: string;
  status: WebhookMessageStatus;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** created_at to the microsecond, for the keyset cursor. */
  cursor_ts: string;
}

/** Newest first; `before` is the last row of the previous page (keyset). */
export async function listWebhookMessages(
  db: Queryable,
  q: {
    operatorId: string;
    endpointId?: string;
    status?: WebhookMessageStatus;
    since?: Date;
    before?: { t: string; i: string };
    limit: number;
  },
): Promise<WebhookMessageRow[]> {
  const { rows } = await db.query<WebhookMessageRow>(
    `select id, endpoint_id, message_id, event_type, status, attempts, last_status_code, next_attempt_at,
            created_at, updated_at,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from webhook_messages
      where operator_id = $1
        and ($2::text is null or endpoint_id = $2)
        and ($3::text is null or status = $3)
        and ($4::timestamptz is null or created_at >= $4)
        and ($5::timestamptz is null or (created_at, id) < ($5::timestamptz, $6::text))
      order by created_at desc, id desc
      limit $7`,
    [
      q.operatorId,
      q.endpointId ?? null,
      q.status ?? null,
      q.since ?? null,
      q.before?.t ?? null,
      q.before?.i ?? null,
      q.limit,
    ],
  );
  return rows;
}

export interface WebhookAttemptRow {
  attempt: number;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  next_attempt_at: Date | null;
  attempted_at: Date;
}

/** The attempts of one of the operator's messages, oldest first; undefined for no such message. */
export async function listWebhookAttempts(
  db: Queryable,
  operatorId: string,
  messageRow: string,
): Promise<WebhookAttemptRow[] | undefined> {
  const { rows } = await db.query<WebhookAttemptRow & { found: boolean }>(
    `select a.attempt, a.status_code, a.duration_ms, a.response_excerpt, a.error, a.next_attempt_at,
            a.attempted_at, a.attempt is not null as found
       from webhook_messages m
       left join webhook_attempts a on a.operator_id = m.operator_id and a.message_row = m.id
      where m.operator_id = $1 and m.id = $2
      order by a.id`,
    [operatorId, messageRow],
  );
  if (rows.length === 0) return undefined;
  return rows.filter((r) => r.found);
}

/** Deletes log rows (and their attempts) created before `before`, at most `limit`; answers how many. */
export async function pruneWebhookLog(db: Queryable, before: Date, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from webhook_messages where id in (
       select id from webhook_messages where created_at < $1 order by created_at limit $2)`,
    [before, limit],
  );
  return rowCount ?? 0;
}

export interface FailedWebhookMessage {
  id: string;
  messageId: string;
  payload: unknown;
  /** Keyset position: (created_at to the microsecond, id). */
  cursor: { t: string; i: string };
}

/** The endpoint's failed messages created at or after `since`, oldest first, after `after`. */
export async function listFailedWebhookMessages(
  db: Queryable,
  q: { operatorId: string; endpointId: string; since: Date; after?: { t: string; i: string }; limit: number },
): Promise<FailedWebhookMessage[]> {
  const { rows } = await db.query<{ id: string; message_id: string; payload: string; cursor_ts: string }>(
    `select id, message_id, payload,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from webhook_messages
      where operator_id = $1 and endpoint_id = $2 and status = 'failed' and created_at >= $3
        and ($4::timestamptz is null or (created_at, id) > ($4::timestamptz, $5::text))
      order by created_at, id
      limit $6`,
    [q.operatorId, q.endpointId, q.since, q.after?.t ?? null, q.after?.i ?? null, q.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    messageId: r.message_id,
    payload: JSON.parse(r.payload) as unknown,
    cursor: { t: r.cursor_ts, i: r.id },
  }));
}
