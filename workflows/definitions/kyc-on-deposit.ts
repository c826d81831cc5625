import type { ActivityOptions } from '@temporalio/workflow';
import { defineDefinition } from '../definition';
import { alertKycResult, KYC_RESULTS } from './kyc-alerts';
import type { KycCheck } from '../../activities/kyc/client';

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

/**
 * A check at the operator's provider, as providers run it (issue 22): created now, answered
 * later by signed webhook. kyc_status is `pending` while the workflow waits for the result's
 * internal event, up to the operator's kycResultDeadline; then `overdue`. A result after that
 * is applied by kyc-result.
 */
export const kycOnDeposit = defineDefinition({
  name: 'kyc-on-deposit',
  description: 'KYC check on a first or large deposit; waits for the provider’s result until a deadline',
  trigger: 'entity_event.transaction',
  condition: (input) => input.data.type === 'deposit',
  waits: true,
  async run(input, ctx) {
    const { decideKycCheck, recordKycStatus, setKycPending, setKycOverdue, applyKycResult } =
      ctx.activities();
    const { requestProviderCheck } = ctx.activities(KYC_PROVIDER);
    const decision = await decideKycCheck(input);
    if (!decision.required) return { checked: false, reason: decision.reason };
    const player = { operatorId: input.operatorId, externalId: input.externalId };
    // A result in the provider's own answer (the local sandbox): recorded
    // and alerted at once, with nothing to wait for.
    const recordImmediate = async (check: KycCheck) => {
      await recordKycStatus({ ...player, eventId: input.eventId, check });
      const alertMessageId = await alertKycResult(
        ctx,
        input.externalId,
        {
          applied: true,
          superseded: false,
          result: check.status,
          checkId: check.id,
          previous: null,
          reversal: false,
        },
        { reason: decision.reason },
      );
      return {
        checked: true,
        reason: decision.reason,
        status: check.status,
        checkId: check.id,
        alertMessageId,
      };
    };
    const answer = await requestProviderCheck(input);

    if (answer.outcome === 'not_configured') {
      const alertMessageId = await ctx.alert({
        kind: answer.alert,
        severity: 'warning',
        summary: answer.message,
        details: { reason: decision.reason, eventId: input.eventId ?? null },
      });
      return { checked: false, reason: 'not_configured', alertMessageId };
    }

    if (answer.outcome === 'completed') {
      // The local sandbox of a test-mode operator without a connection answers at once.
      const check = answer.check;
      return recordImmediate(check);
    }

    const checkId = answer.checkId;
    await setKycPending({
      ...player,
      eventId: input.eventId,
      checkId,
      provider: answer.provider,
      checkedAt: input.occurredAt,
    });
    const outcome = await ctx.waitFor({
      label: `KYC result of check ${checkId}`,
      for: KYC_RESULTS.map((r) => ({
        event: `provider.webhook.kyc.${r}`,
        where: (e) => e.data.checkId === checkId,
      })),
      timeout: decision.resultDeadline,
    });
    if (outcome.status === 'satisfied') {
      const applied = await applyKycResult({
        operatorId: input.operatorId,
        deliveryId: String(outcome.event.data.deliveryId),
      });
      const alertMessageId = await alertKycResult(ctx, input.externalId, applied, {
        reason: decision.reason,
      });
      return {
        checked: true,
        reason: decision.reason,
        status: applied.result,
        checkId,
        applied: applied.applied,
        alertMessageId,
      };
    }
    const overdue = await setKycOverdue({ ...player, checkId, deadlineAt: outcome.deadline });
    // Only when this run wrote it: a result applied a moment before the deadline stands, unalerted here.
    const alertMessageId = overdue.written
      ? await ctx.alert({
          kind: 'kyc_overdue',
          severity: 'critical',
          summary: `KYC check ${checkId} of ${input.externalId}: no result within ${decision.resultDeadline}`,
          details: { checkId, reason: decision.reason, deadlineAt: outcome.deadline },
        })
      : undefined;
    return {
      checked: true,
      reason: decision.reason,
      status: overdue.written ? 'overdue' : overdue.current,
      checkId,
      deadlineAt: outcome.deadline,
      alertMessageId,
    };
  },
});
