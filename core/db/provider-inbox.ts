import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { KycProviderName } from '../security/provider-signatures';
import type { PendingStart } from './outbox';
import type { Queryable } from './pool';
import { writeProviderResultEvent } from './provider-result-event';

export type KycResult = 'approved' | 'rejected' | 'review';
export type DeliveryOutcome = 'accepted' | 'result_to_fetch' | 'ignored';

/** One accepted provider webhook, read and normalised (core/kyc-providers/webhook-payloads.ts). */
export interface ProviderDelivery {
  eventType: string;
  /** The provider's own identifiers of this event, joined: the same on every redelivery. */
  dedupKey: string;
  providerEventId: string | null;
  checkId: string | null;
  applicantId: string | null;
  result: KycResult | null;
  providerTimestamp: Date | null;
  outcome: DeliveryOutcome;
  /** Why a delivery is `ignored` at ingestion (`not_a_result`). */
  ignoredReason?: string | null;
  /** What the provider said with its result (Sumsub RED: rejectLabels, reviewRejectType). */
  details?: ResultDetails | null;
}

/** The provider's reasons with a result: carried into its event's data and its alert. */
export interface ResultDetails {
  reviewRejectType?: string;
  rejectLabels?: string[];
}

/** What became of a delivery, as the operator's inbox listing shows it. */
export type SettledOutcome = 'pending' | 'applied' | 'superseded' | 'ignored';

export interface DeliverySettlement {
  outcome: SettledOutcome;
  /**
   * ignored: `not_a_result`, `unknown_check`, `entity_erased`, `connection_removed`,
   * `check_withdrawn`, `no_result`; superseded: `older_than_standing`; pending: `result_to_fetch` while a
   * completion's result is still to be read from the provider; else null.
   */
  reason: string | null;
  /** When it was applied, superseded or ignored. */
  at: Date | null;
  /** The workflow that wrote it to kyc_status. */
  appliedBy: string | null;
  /** The delivery whose result stood when this one was superseded. */
  supersededBy: string | null;
}

export interface InboxRow extends ProviderDelivery {
  id: string;
  operatorId: string;
  connectionId: string;
  provider: KycProviderName;
  receivedAt: Date;
}

const COLUMNS = `id, operator_id, connection_id, provider, event_type, dedup_key, provider_event_id, check_id,
  applicant_id, result, provider_timestamp, received_at, outcome, ignored_reason, result_details`;

interface Row {
  id: string;
  operator_id: string;
  connection_id: string;
  provider: KycProviderName;
  event_type: string;
  dedup_key: string;
  provider_event_id: string | null;
  check_id: string | null;
  applicant_id: string | null;
  result: KycResult | null;
  provider_timestamp: Date | null;
  received_at: Date;
  outcome: DeliveryOutcome;
  ignored_reason: string | null;
  result_details: ResultDetails | null;
}

const fromRow = (r: Row): InboxRow => ({
  id: r.id,
  operatorId: r.operator_id,
  connectionId: r.connection_id,
  provider: r.provider,
  eventType: r.event_type,
  dedupKey: r.dedup_key,
  providerEventId: r.provider_event_id,
  checkId: r.check_id,
  applicantId: r.applicant_id,
  result: r.result,
  providerTimestamp: r.provider_timestamp,
  receivedAt: r.received_at,
  outcome: r.outcome,
  ignoredReason: r.ignored_reason,
  details: r.result_details,
});

/**
 * Records one delivery in the inbox, in the caller's transaction. A redelivery (same
 * connection, same provider identifiers) inserts nothing and answers the row first recorded,
 * with `duplicate: true`; nothing else happens for it. `start`: the outbox row of the result's
 * internal event, for the caller to hand to the dispatcher once the transaction committed.
 */
export async function recordProviderDelivery(
  client: PoolClient,
  d: ProviderDelivery & { operatorId: string; connectionId: string; provider: KycProviderName },
): Promise<{ delivery: InboxRow; duplicate: boolean; start: PendingStart | null }> {
  const { rows } = await client.query<Row>(
    `insert into provider_webhook_inbox
            (id, operator_id, connection_id, provider, event_type, dedup_key, provider_event_id, check_id,
             applicant_id, result, provider_timestamp, outcome, ignored_reason, ignored_at, result_details)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
             case when $12 = 'ignored' then now() end, $14::jsonb)
     on conflict (connection_id, dedup_key) do nothing
     returning ${COLUMNS}`,
    [
      'pwd_' + randomBytes(8).toString('hex'),
      d.operatorId,
      d.connectionId,
      d.provider,
      d.eventType,
      d.dedupKey,
      d.providerEventId,
      d.checkId,
      d.applicantId,
      d.result,
      d.providerTimestamp,
      d.outcome,
      d.outcome === 'ignored' ? (d.ignoredReason ?? 'not_a_result') : null,
      d.details ? JSON.stringify(d.details) : null,
    ],
  );
  const inserted = rows[0];
  if (!inserted) {
    const { rows: first } = await client.query<Row>(
      `select ${COLUMNS} from provider_webhook_inbox where operator_id = $1 and connection_id = $2 and dedup_key = $3`,
      [d.operatorId, d.connectionId, d.dedupKey],
    );
    return { delivery: fromRow(first[0]!), duplicate: true, start: null };
  }
  const delivery = fromRow(inserted);
  if (delivery.outcome === 'ignored') return { delivery, duplicate: false, start: null };
  const event = await addProviderResultEventToOutbox(client, delivery);
  return { delivery: { ...delivery, outcome: event.outcome }, duplicate: false, start: event.start };
}

/**
 * Issue 22, item 6: a newly accepted result becomes the internal event
 * `provider.webhook.kyc.<result>` of the entity whose check it names (a completion whose result
 * is still to be read, `provider.webhook.kyc.completed`), written to the outbox in
 * the transaction that records the delivery, so the inbox row and its event commit together or
 * not at all (a redelivery never reaches this: it is answered above). A result for a check this
 * operator never created is stored `ignored` (ignored_reason `unknown_check`).
 */
export async function addProviderResultEventToOutbox(
  client: PoolClient,
  delivery: InboxRow,
): Promise<{ start: PendingStart | null; outcome: DeliveryOutcome }> {
  return writeProviderResultEvent(client, delivery);
}

/** The settlement columns of the listing: what became of each delivery (see DeliverySettlement). */
const SETTLEMENT = `
  case when outcome = 'ignored' then 'ignored'
       when applied_at is not null then 'applied'
       when superseded_at is not null then 'superseded'
       else 'pending' end as settled_outcome,
  case when outcome = 'ignored' then ignored_reason
       when applied_at is not null then null
       when superseded_at is not null then 'older_than_standing'
       when outcome = 'result_to_fetch' then 'result_to_fetch'
       end as settled_reason,
  case when outcome = 'ignored' then ignored_at else coalesce(applied_at, superseded_at) end as settled_at,
  applied_by, superseded_by, external_id`;

interface SettlementRow {
  settled_outcome: SettledOutcome;
  settled_reason: string | null;
  settled_at: Date | null;
  applied_by: string | null;
  superseded_by: string | null;
  external_id: string | null;
}

export type ListedDelivery = InboxRow & {
  cursorTs: string;
  /** The operator's player the result was mapped to (null until mapped, or never). */
  externalId: string | null;
  settlement: DeliverySettlement;
};

/**
 * The operator's inbox, newest first, each with what became of it; `after` (a keyset cursor:
 * Postgres's own text of the last row's time, microseconds kept, and its id) continues after
 * the last row of a page.
 */
export async function listProviderDeliveries(
  db: Queryable,
  q: { operatorId: string; limit: number; after?: { t: string; i: string } },
): Promise<ListedDelivery[]> {
  const { rows } = await db.query<Row & SettlementRow & { cursor_ts: string }>(
    `select ${COLUMNS}, ${SETTLEMENT}, received_at::text as cursor_ts from provider_webhook_inbox
      where operator_id = $1 and ($2::timestamptz is null or (received_at, id) < ($2::timestamptz, $3))
      order by received_at desc, id desc
      limit $4`,
    [q.operatorId, q.after?.t ?? null, q.after?.i ?? null, q.limit],
  );
  return rows.map((r) => ({
    ...fromRow(r),
    cursorTs: r.cursor_ts,
    externalId: r.external_id,
    settlement: {
      outcome: r.settled_outcome,
      reason: r.settled_reason,
      at: r.settled_at,
      appliedBy: r.applied_by,
      supersededBy: r.superseded_by,
    },
  }));
}

/** One inbox row, as recorded (in the caller's transaction when given one). */
export async function readInboxRow(
  db: Queryable,
  key: { operatorId: string; id: string },
): Promise<InboxRow | undefined> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from provider_webhook_inbox where operator_id = $1 and id = $2`,
    [key.operatorId, key.id],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}
