import { recordKycCheck } from '../../core/db/kyc-checks';
import { isFirstDeposit } from '../../core/db/risk';
import { effectiveThresholds, workflowSettingsAt } from '../../core/db/workflow-settings';
import type { FanoutInput } from '../../workflows/types';
import { currentWorkflowId } from '../context';
import type { ResolvedDeps } from '../index';
import { writeState } from '../state-writer';
import { createKycClient, type KycCheck } from './client';
import { createProviderCheck, type ProviderCheckOutcome } from './providers';
import { PiiCipher } from '../../core/security/pii';

export interface KycDecision {
  required: boolean;
  reason: 'first_deposit' | 'amount_at_or_over_threshold' | 'below_threshold';
  threshold: number;
  /** How long a pending check's result is awaited (the operator's kycResultDeadline). */
  resultDeadline: string;
}

export interface KycStatusValue {
  status: KycCheck['status'];
  checkId: string;
  checkedAt: string;
  eventId: string | null;
}

export function kycActivities(deps: ResolvedDeps) {
  const kyc = createKycClient({
    baseUrl: deps.config.KYC_PROVIDER_URL,
    apiKey: deps.config.KYC_PROVIDER_API_KEY,
    timeoutMs: deps.config.HTTP_TIMEOUT_MS,
    fetch: deps.fetch,
    now: deps.now,
  });

  const pii = new PiiCipher(deps.config.PII_MASTER_KEY);

  return {
    /**
     * A deposit needs a KYC check if it is the entity's first, or at least the operator's
     * threshold in force when it was recorded (else KYC_DEPOSIT_THRESHOLD).
     */
    async decideKycCheck(input: FanoutInput): Promise<KycDecision> {
      const settings = await workflowSettingsAt(deps.pool, input.operatorId, input.occurredAt || deps.now());
      const t = effectiveThresholds(settings, deps.config);
      const threshold = t.kycDepositThreshold;
      const resultDeadline = t.kycResultDeadline;
      const amount = Number(input.data.amount);
      if (amount >= threshold)
        return { required: true, reason: 'amount_at_or_over_threshold', threshold, resultDeadline };
      const first = await isFirstDeposit(deps.pool, {
        operatorId: input.operatorId,
        externalId: input.externalId,
        eventId: input.eventId ?? '',
      });
      return {
        required: first,
        reason: first ? 'first_deposit' : 'below_threshold',
        threshold,
        resultDeadline,
      };
    },

    /**
     * Asks the provider for a check. The Idempotency-Key is the workflow ID, the same for every
     * attempt, so a retry after a lost answer (timeout, 503 after commit) finds the check the
     * provider already created instead of creating a second one.
     */
    async requestKycCheck(input: FanoutInput): Promise<KycCheck> {
      return kyc.createCheck(
        {
          applicantId: input.externalId,
          operatorReference: input.operatorId,
          reference: input.eventId ?? input.internalEvent,
          amount: typeof input.data.amount === 'number' ? input.data.amount : undefined,
          currency: typeof input.data.currency === 'string' ? input.data.currency : undefined,
        },
        currentWorkflowId(),
      );
    },

    /**
     * The asynchronous check (issue 22): at the operator's own provider connection, keyed by the
     * workflow ID, answered `pending` (the result comes by webhook to the provider inbox); the
     * local sandbox's immediate result for a test-mode operator without a connection; or
     * `not_configured` for a live one. A pending check is recorded (kyc_checks) before this
     * answers, so its result's webhook finds the entity; a retry records the same row.
     */
    async requestProviderCheck(input: FanoutInput): Promise<ProviderCheckOutcome> {
      const outcome = await createProviderCheck(
        { ...deps, pii },
        {
          operatorId: input.operatorId,
          externalId: input.externalId,
          reference: input.eventId ?? input.internalEvent,
          amount: typeof input.data.amount === 'number' ? input.data.amount : undefined,
          currency: typeof input.data.currency === 'string' ? input.data.currency : undefined,
        },
        currentWorkflowId(),
      );
      if (outcome.outcome === 'pending')
        await recordKycCheck(deps.pool, {
          operatorId: input.operatorId,
          provider: outcome.provider,
          checkId: outcome.checkId,
          applicantId: input.externalId,
          externalId: input.externalId,
          workflowId: currentWorkflowId(),
        });
      return outcome;
    },

    async recordKycStatus(r: {
      operatorId: string;
      externalId: string;
      eventId?: string;
      check: KycCheck;
    }): Promise<{ written: boolean }> {
      const value: KycStatusValue = {
        status: r.check.status,
        checkId: r.check.id,
        checkedAt: r.check.createdAt,
        eventId: r.eventId ?? null,
      };
      const { written } = await writeState(
        deps,
        { operatorId: r.operatorId, externalId: r.externalId, key: 'kyc_status' },
        () => value,
      );
      return { written };
    },
  };
}
