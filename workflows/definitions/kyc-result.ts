import type { ActivityOptions } from '@temporalio/workflow';
import { defineDefinition } from '../definition';
import { alertKycResult } from './kyc-alerts';

/**
 * Reading a result back from the provider (Onfido's GET /checks/{id}): its own HTTP timeout is
 * well inside startToClose; a slow or failing provider API is retried, backing off to 10
 * minutes apart, for up to a day (the result is then lost only if the provider stays down).
 */
const READ_BACK: ActivityOptions = {
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10m' },
};

/** A completion whose result the provider did not send (Onfido check.completed). */
const COMPLETED = 'provider.webhook.kyc.completed';

/**
 * Every provider result, applied to kyc_status through the same idempotent step as the waiting
 * kyc-on-deposit: so a result that arrives after the deadline, a second (disagreeing) result,
 * or one whose wait is gone still updates kyc_status and alerts, once. A completion without its
 * result is read back first; that writes the result's own event, which this definition (and
 * the waiting kyc-on-deposit) then applies like any other.
 */
export const kycResult = defineDefinition({
  name: 'kyc-result',
  description:
    "Applies a KYC provider's result to kyc_status (late, repeated or reversed ones too) and alerts; reads back a result the provider's webhook did not carry",
  trigger: 'provider.webhook.kyc.*',
  async run(input, ctx) {
    const deliveryId = String(input.data.deliveryId);
    if (input.internalEvent === COMPLETED) {
      const { fetchKycResult } = ctx.activities(READ_BACK);
      return { fetched: await fetchKycResult({ operatorId: input.operatorId, deliveryId }) };
    }
    const { applyKycResult } = ctx.activities();
    const applied = await applyKycResult({ operatorId: input.operatorId, deliveryId });
    const alertMessageId = await alertKycResult(ctx, input.externalId, applied);
    return { ...applied, alertMessageId };
  },
});
