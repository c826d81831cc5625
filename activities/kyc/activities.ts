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
      const threshold = effectiveThresholds(settings, deps.config).kycDepositThreshold;
      const amount = Number(input.data.amount);
      if (amount >= threshold) return { required: true, reason: 'amount_at_or_over_threshold', threshold };
      const first = await isFirstDeposit(deps.pool, {
        operatorId: input.operatorId,
        externalId: input.externalId,
        eventId: input.eventId ?? '',
      });
      return { required: first, reason: first ? 'first_deposit' : 'below_threshold', threshold };
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
     * `not_configured` for a live one. Not yet called by a definition: kyc-on-deposit moves to
     * it once it can wait for the webhook (ctx.waitFor).
     */
    async requestProviderCheck(input: FanoutInput): Promise<ProviderCheckOutcome> {
      return createProviderCheck(
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
