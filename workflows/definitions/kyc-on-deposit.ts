import type { ActivityOptions } from '@temporalio/workflow';
import { defineDefinition } from '../definition';

/**
 * The provider: its own HTTP timeout (HTTP_TIMEOUT_MS) is well inside startToClose; transient
 * failures back off up to 10 minutes apart for 6 hours; a refused request
 * (KycRequestRejected) is non-retryable at the source; a 429 sets its own next delay.
 */
const KYC_PROVIDER: ActivityOptions = {
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '6h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10m' },
};

export const kycOnDeposit = defineDefinition({
  name: 'kyc-on-deposit',
  description: 'KYC check on a first or large deposit',
  trigger: 'entity_event.transaction',
  condition: (input) => input.data.type === 'deposit',
  async run(input, ctx) {
    const { decideKycCheck, recordKycStatus } = ctx.activities();
    const { requestKycCheck } = ctx.activities(KYC_PROVIDER);
    const decision = await decideKycCheck(input);
    if (!decision.required) return { checked: false, reason: decision.reason };
    const check = await requestKycCheck(input);
    await recordKycStatus({
      operatorId: input.operatorId,
      externalId: input.externalId,
      eventId: input.eventId,
      check,
    });
    const alertMessageId =
      check.status === 'approved'
        ? undefined
        : await ctx.alert({
            kind: check.status === 'rejected' ? 'kyc_rejected' : 'kyc_review',
            severity: check.status === 'rejected' ? 'critical' : 'warning',
            summary: `KYC check ${check.id} came back ${check.status}`,
            details: { checkId: check.id, status: check.status, reason: decision.reason },
          });
    return {
      checked: true,
      reason: decision.reason,
      status: check.status,
      checkId: check.id,
      alertMessageId,
    };
  },
});
