import { defineDefinition } from '../definition';
import { alertKycResult } from './kyc-alerts';

/**
 * Every provider result, applied to kyc_status through the same idempotent step as the waiting
 * kyc-on-deposit: so a result that arrives after the deadline, a second (disagreeing) result,
 * or one whose wait is gone still updates kyc_status and alerts, once.
 */
export const kycResult = defineDefinition({
  name: 'kyc-result',
  description:
    "Applies a KYC provider's result to kyc_status (late, repeated or reversed ones too) and alerts",
  trigger: 'provider.webhook.kyc.*',
  async run(input, ctx) {
    const { applyKycResult } = ctx.activities();
    const applied = await applyKycResult({ deliveryId: String(input.data.deliveryId) });
    const alertMessageId = await alertKycResult(ctx, input.externalId, applied);
    return { ...applied, alertMessageId };
  },
});
