import type { Queryable } from './pool';
import type { KycResult, ResultDetails } from './provider-inbox';

/** One inbox row, by its operator and id (every statement here names the operator: docs/SCALING.md). */
export interface DeliveryKey {
  operatorId: string;
  id: string;
}

/** An accepted result as applyKycResult reads it, with what became of it. */
export interface ResultDelivery {
  id: string;
  operatorId: string;
  externalId: string | null;
  checkId: string | null;
  provider: string;
  result: KycResult | null;
  providerTimestamp: Date | null;
  appliedAt: Date | null;
  appliedBy: string | null;
  appliedPrevious: { status: string } | null;
  supersededAt: Date | null;
  /** The provider's reasons with the result (Sumsub RED: rejectLabels, reviewRejectType). */
  details: ResultDetails | null;
}

/** One inbox row; `forUpdate` holds it until the caller's transaction ends (one applier at a time). */
export async function readResultDelivery(
  db: Queryable,
  key: DeliveryKey,
  forUpdate = false,
): Promise<ResultDelivery | undefined> {
  const { rows } = await db.query<ResultDelivery>(
    `select id, operator_id as "operatorId", external_id as "externalId", kyc_check_id as "checkId",
            provider, result, provider_timestamp as "providerTimestamp", applied_at as "appliedAt",
            applied_by as "appliedBy", applied_previous as "appliedPrevious", superseded_at as "supersededAt",
            result_details as details
       from provider_webhook_inbox
      where operator_id = $1 and id = $2 and outcome = 'accepted'${forUpdate ? ' for update' : ''}`,
    [key.operatorId, key.id],
  );
  return rows[0];
}

/** Marks a result written to kyc_status, by which workflow, over which previous value. */
export async function markResultApplied(
  db: Queryable,
  m: DeliveryKey & { by: string; previous: { status: string } | null },
): Promise<void> {
  await db.query(
    `update provider_webhook_inbox set applied_at = now(), applied_by = $3, applied_previous = $4::jsonb
      where operator_id = $1 and id = $2`,
    [m.operatorId, m.id, m.by, JSON.stringify(m.previous)],
  );
}

/** Marks a result not written because a result with a later provider time (`by`, that delivery) stands. */
export async function markResultSuperseded(
  db: Queryable,
  key: DeliveryKey,
  by: string | null,
): Promise<void> {
  await db.query(
    `update provider_webhook_inbox set superseded_at = now(), superseded_by = $3 where operator_id = $1 and id = $2`,
    [key.operatorId, key.id, by],
  );
}

/** Marks a delivery that can no longer be applied (its player erased, its connection removed), and why. */
export async function markDeliveryIgnored(db: Queryable, key: DeliveryKey, reason: string): Promise<void> {
  await db.query(
    `update provider_webhook_inbox set outcome = 'ignored', ignored_reason = $3, ignored_at = now()
      where operator_id = $1 and id = $2`,
    [key.operatorId, key.id, reason],
  );
}

/** A completion whose result is to be read back from the provider (outcome `result_to_fetch`). */
export interface DeliveryToFetch {
  id: string;
  operatorId: string;
  connectionId: string;
  provider: string;
  checkId: string | null;
  outcome: string;
  result: KycResult | null;
}

export async function readDeliveryToFetch(
  db: Queryable,
  key: DeliveryKey,
  forUpdate = false,
): Promise<DeliveryToFetch | undefined> {
  const { rows } = await db.query<DeliveryToFetch>(
    `select id, operator_id as "operatorId", connection_id as "connectionId", provider, check_id as "checkId",
            outcome, result
       from provider_webhook_inbox where operator_id = $1 and id = $2${forUpdate ? ' for update' : ''}`,
    [key.operatorId, key.id],
  );
  return rows[0];
}

/** Records the result read back: the delivery is then an accepted result like any other. */
export async function recordFetchedResult(db: Queryable, key: DeliveryKey, result: KycResult): Promise<void> {
  await db.query(
    `update provider_webhook_inbox set result = $3, outcome = 'accepted', result_fetched_at = now()
      where operator_id = $1 and id = $2 and outcome = 'result_to_fetch'`,
    [key.operatorId, key.id, result],
  );
}
