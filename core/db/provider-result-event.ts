import type { PoolClient } from 'pg';
import { OUTBOX_COLUMNS, outboxRowSql } from '../fanout/outbox-row';
import { planOf } from '../fanout/plan';
import { findKycCheckEntity } from './kyc-checks';
import type { PendingStart } from './outbox';
import type { InboxRow } from './provider-inbox';

/** The internal event of an accepted KYC result: `provider.webhook.kyc.<result>`. */
export const providerResultEvent = (result: string): string => `provider.webhook.kyc.${result}`;

/**
 * The internal event of a provider's completion that does not carry its result (Onfido
 * `check.completed`): kyc-result reads the result back from the provider (an activity, with
 * retries) and then writes `provider.webhook.kyc.<result>`.
 */
export const PROVIDER_COMPLETED_EVENT = 'provider.webhook.kyc.completed';

/**
 * What the event carries as `data` (what a wait's `where` and a forwarded webhook see). A wait's
 * lookback builds the same object from the inbox row (core/db/waits.ts, providerResultsSince).
 */
export function providerResultData(d: InboxRow, checkId: string): Record<string, unknown> {
  return {
    checkId,
    applicantId: d.applicantId,
    provider: d.provider,
    result: d.result,
    providerTimestamp: d.providerTimestamp ? d.providerTimestamp.toISOString() : null,
    deliveryId: d.id,
    // The provider's reasons (Sumsub RED: rejectLabels, reviewRejectType), when it gave any.
    ...(d.details ?? {}),
  };
}

/**
 * Writes `provider.webhook.kyc.<result>` (or, for a completion whose result is still to be
 * read, `provider.webhook.kyc.completed`) for the entity whose check the delivery names, in the
 * caller's transaction (the one that records the delivery, or the one that records the result
 * read back), through the one outbox row builder: its id is the delivery's, so the row and its
 * workflow are named by the inbox row and the event. A row whose plan is empty still goes in,
 * start-less, to meet the entity's open waits. A delivery for a check this operator never
 * created is marked `ignored` (unknown_check): no event. Answers the queued row, for the
 * caller to hand to the dispatcher after commit.
 */
export async function writeProviderResultEvent(
  client: PoolClient,
  d: InboxRow,
): Promise<{ start: PendingStart | null; outcome: InboxRow['outcome'] }> {
  const toFetch = d.outcome === 'result_to_fetch';
  const entity =
    d.result || toFetch
      ? await findKycCheckEntity(client, {
          operatorId: d.operatorId,
          provider: d.provider,
          checkId: d.checkId,
          applicantId: d.applicantId,
        })
      : undefined;
  if (!entity) {
    await client.query(
      `update provider_webhook_inbox set outcome = 'ignored', ignored_reason = 'unknown_check', ignored_at = now()
        where operator_id = $1 and id = $2`,
      [d.operatorId, d.id],
    );
    return { start: null, outcome: 'ignored' };
  }
  await client.query(
    `update provider_webhook_inbox set external_id = $3, kyc_check_id = $4 where operator_id = $1 and id = $2`,
    [d.operatorId, d.id, entity.externalId, entity.checkId],
  );
  const internalEvent = toFetch ? PROVIDER_COMPLETED_EVENT : providerResultEvent(d.result!);
  const data = providerResultData(d, entity.checkId);
  const plan = planOf(internalEvent, { operatorId: d.operatorId, externalId: entity.externalId, data });
  const { rows } = await client.query<PendingStart>(
    `insert into fanout_outbox (${OUTBOX_COLUMNS}, start)
     select r.*, cardinality(r.definitions) > 0
       from (select ${outboxRowSql({
         id: '$1::text',
         fields: {
           internalEvent: '$2::text',
           operatorId: '$3::text',
           externalId: '$4::text',
           data: '$5::jsonb',
           occurredAt: '$6::text',
         },
         plan: { always: '$7::text[]', ifSubscribed: '$8::text[]' },
       })}) r
     returning workflow_id, payload, search_attributes, definitions, attempts, start`,
    [
      d.id,
      internalEvent,
      d.operatorId,
      entity.externalId,
      JSON.stringify(data),
      d.receivedAt.toISOString(),
      plan.always,
      plan.ifSubscribed,
    ],
  );
  return { start: rows[0] ?? null, outcome: d.outcome };
}
