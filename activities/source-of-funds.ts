import { netDepositsInWindow } from '../core/db/risk';
import { getState } from '../core/db/states';
import { effectiveThresholds, workflowSettingsAt } from '../core/db/workflow-settings';
import type { FanoutInput } from '../workflows/types';
import type { ResolvedDeps } from './index';
import { KEEP, writeState } from './state-writer';

/** The values of the `sof_status` state: the operator writes verified or rejected; the rest are ours. */
export type SourceOfFundsStatus = 'requested' | 'verified' | 'rejected' | 'overdue' | 'cancelled';

export interface SourceOfFundsAssessment {
  required: boolean;
  reason:
    | 'threshold_reached'
    | 'below_threshold'
    | 'already_verified'
    | 'already_rejected'
    | 'already_requested'
    | 'overdue';
  currency: string;
  /** Deposits in the deposit's currency over the rolling window, this one included. */
  deposits: number;
  threshold: number;
  windowDays: number;
  deadline: string;
  reminder: string;
}

/** A player is asked (again) only when nothing is pending or decided: no status, or a request cancelled. */
const ASKABLE: ReadonlyArray<SourceOfFundsStatus | null> = [null, 'cancelled'];

export function sourceOfFundsActivities(deps: ResolvedDeps) {
  return {
    /**
     * Whether this deposit brings the player's deposits over the window to the operator's
     * threshold (in force when it was recorded) while source of funds is neither pending nor
     * decided; with the deadline and reminder to apply.
     */
    async assessSourceOfFunds(input: FanoutInput): Promise<SourceOfFundsAssessment> {
      const settings = await workflowSettingsAt(deps.pool, input.operatorId, input.occurredAt || deps.now());
      const t = effectiveThresholds(settings, deps.config);
      const currency = String(input.data.currency ?? '');
      const sums = await netDepositsInWindow(deps.pool, {
        operatorId: input.operatorId,
        externalId: input.externalId,
        eventId: input.eventId ?? '',
        currency,
        windowDays: t.sourceOfFundsWindowDays,
      });
      const status = statusOf(
        (await getState(deps.pool, input.operatorId, input.externalId, 'sof_status'))?.value,
      );
      const base = {
        currency,
        deposits: sums.deposits,
        threshold: t.sourceOfFundsThreshold,
        windowDays: t.sourceOfFundsWindowDays,
        deadline: t.sourceOfFundsDeadline,
        reminder: t.sourceOfFundsReminder,
      };
      if (!ASKABLE.includes(status)) return { ...base, required: false, reason: alreadyReason(status!) };
      const reached = sums.deposits >= t.sourceOfFundsThreshold;
      return { ...base, required: reached, reason: reached ? 'threshold_reached' : 'below_threshold' };
    },

    /**
     * Sets `sof_status` to `status` if its current value is one of `onlyIf` (null: no value),
     * under the state's row lock order (one transaction): two deposits crossing the threshold
     * at once ask once, and an operator's verdict written a moment before the deadline is not
     * overwritten by `overdue`. Answers whether this call (or an earlier attempt of it) wrote it.
     */
    async setSourceOfFundsStatus(r: {
      operatorId: string;
      externalId: string;
      status: SourceOfFundsStatus;
      onlyIf: Array<SourceOfFundsStatus | null>;
    }): Promise<{ written: boolean; current: SourceOfFundsStatus | null }> {
      const { written, value } = await writeState(
        deps,
        { operatorId: r.operatorId, externalId: r.externalId, key: 'sof_status' },
        (current) => (r.onlyIf.includes(statusOf(current)) ? r.status : KEEP),
        (tx) => lockSourceOfFunds(tx, r.operatorId, r.externalId),
      );
      return { written, current: statusOf(value) };
    },
  };
}

function statusOf(value: unknown): SourceOfFundsStatus | null {
  return typeof value === 'string' ? (value as SourceOfFundsStatus) : null;
}

function alreadyReason(status: SourceOfFundsStatus): SourceOfFundsAssessment['reason'] {
  if (status === 'verified') return 'already_verified';
  if (status === 'rejected') return 'already_rejected';
  if (status === 'overdue') return 'overdue';
  return 'already_requested';
}

/** Serialises conditional writes of one player's sof_status (the row may not exist yet). */
async function lockSourceOfFunds(
  tx: { query: (text: string, values: unknown[]) => Promise<unknown> },
  operatorId: string,
  externalId: string,
): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/sof_status', 0))`, [
    operatorId,
    externalId,
  ]);
}
