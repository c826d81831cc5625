import { lockRiskScore, netDepositsInWindow } from '../core/db/risk';
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
  return {
    /** One transaction at or over the AML threshold of its currency (AML_THRESHOLDS, else AML_THRESHOLD). */
    async assessAml(input: FanoutInput): Promise<AmlAssessment> {
      const currency = String(input.data.currency ?? '');
      const amount = Number(input.data.amount);
      const threshold = deps.config.AML_THRESHOLDS[currency] ?? deps.config.AML_THRESHOLD;
      return { flagged: Number.isFinite(amount) && amount >= threshold, amount, currency, threshold };
    },

    /** Net deposits (deposits minus withdrawals, in the deposit's currency) over the rolling window. */
    async assessAffordability(input: FanoutInput): Promise<AffordabilityAssessment> {
      const currency = String(input.data.currency ?? '');
      const windowDays = deps.config.AFFORDABILITY_WINDOW_DAYS;
      const threshold = deps.config.AFFORDABILITY_THRESHOLD;
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
