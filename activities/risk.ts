import { lockRiskScore, netDepositsInWindow } from '../core/db/risk';
import { effectiveThresholds, workflowSettingsAt } from '../core/db/workflow-settings';
import type { FanoutInput } from '../workflows/types';
import type { ResolvedDeps } from './index';
import { withRiskFlag, type RiskFlag, type RiskScoreValue } from './risk-score';
import { writeState } from './state-writer';

export interface AmlAssessment {
  flagged: boolean;
  amount: number;
  currency: string;
  threshold: number;
}

export interface AffordabilityAssessment {
  flagged: boolean;
  currency: string;
  deposits: number;
  withdrawals: number;
  netDeposits: number;
  threshold: number;
  windowDays: number;
}

export function riskActivities(deps: ResolvedDeps) {
  /** The operator's parameters in force when the event was recorded, over the environment's. */
  const thresholdsFor = async (input: FanoutInput) =>
    effectiveThresholds(
      await workflowSettingsAt(deps.pool, input.operatorId, input.occurredAt || deps.now()),
      deps.config,
    );
  return {
    /**
     * One transaction at or over the AML threshold of its currency: the operator's (per
     * currency, then flat), else AML_THRESHOLDS, else AML_THRESHOLD.
     */
    async assessAml(input: FanoutInput): Promise<AmlAssessment> {
      const currency = String(input.data.currency ?? '');
      const amount = Number(input.data.amount);
      const threshold = (await thresholdsFor(input)).amlThreshold(currency);
      return { flagged: Number.isFinite(amount) && amount >= threshold, amount, currency, threshold };
    },

    /** Net deposits (deposits minus withdrawals, in the deposit's currency) over the rolling window. */
    async assessAffordability(input: FanoutInput): Promise<AffordabilityAssessment> {
      const currency = String(input.data.currency ?? '');
      const thresholds = await thresholdsFor(input);
      const windowDays = thresholds.affordabilityWindowDays;
      const threshold = thresholds.affordabilityThreshold;
      const sums = await netDepositsInWindow(deps.pool, {
        operatorId: input.operatorId,
        externalId: input.externalId,
        eventId: input.eventId ?? '',
        currency,
        windowDays,
      });
      return {
        flagged: sums.net > threshold,
        currency,
        deposits: sums.deposits,
        withdrawals: sums.withdrawals,
        netDeposits: sums.net,
        threshold,
        windowDays,
      };
    },

    /** Adds one flag to the entity's `risk_score` state (merged with the flags already there). */
    async flagRisk(f: {
      operatorId: string;
      externalId: string;
      flag: RiskFlag;
      details: Record<string, unknown>;
    }): Promise<{ written: boolean; riskScore: RiskScoreValue }> {
      const now = deps.now();
      const { written, value } = await writeState(
        deps,
        { operatorId: f.operatorId, externalId: f.externalId, key: 'risk_score' },
        (current) => withRiskFlag(current, f.flag, f.details, now),
        (tx) => lockRiskScore(tx, f.operatorId, f.externalId),
      );
      return { written, riskScore: value as RiskScoreValue };
    },
  };
}
