import {
  markDeliveryIgnored,
  markResultApplied,
  markResultSuperseded,
  readResultDelivery,
} from '../../core/db/kyc-results';
import type { ResultDetails } from '../../core/db/provider-inbox';
import type { Queryable } from '../../core/db/pool';
import { currentWorkflowId } from '../context';
import type { ResolvedDeps } from '../index';
import { KEEP, writeState } from '../state-writer';

/** kyc_status as the KYC flow writes it. */
export interface KycStatusValue {
  status: 'pending' | 'approved' | 'rejected' | 'review' | 'overdue';
  checkId: string;
  checkedAt: string;
  eventId: string | null;
  provider?: string;
  /** A result's own time at the provider: a result older than the one standing is not written. */
  providerTimestamp?: string;
  /** The inbox delivery whose result this is. */
  deliveryId?: string;
}

/** What applyKycResult did with one delivery. */
export interface KycResultApplied {
  /** This workflow wrote it (now, or in an earlier attempt of this activity): it alerts. */
  applied: boolean;
  /** Not written: a result with a later provider time already stood. */
  superseded: boolean;
  result: string | null;
  checkId: string | null;
  /** The status it replaced. */
  previous: string | null;
  /** Approved, then rejected. */
  reversal: boolean;
  /** Why, as the provider said it (Sumsub RED: rejectLabels, reviewRejectType): for the alert. */
  details?: ResultDetails | null;
}

const asStatus = (v: unknown): KycStatusValue | undefined =>
  v && typeof v === 'object' && typeof (v as KycStatusValue).status === 'string'
    ? (v as KycStatusValue)
    : undefined;

/** Serialises the KYC flow's conditional writes of one player's kyc_status (the row may not exist yet). */
async function lockKycStatus(tx: Queryable, operatorId: string, externalId: string): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/kyc_status', 0))`, [
    operatorId,
    externalId,
  ]);
}

export function kycResultActivities(deps: ResolvedDeps) {
  return {
    /**
     * Sets kyc_status `pending` for a check just created, unless its result is already written
     * (a fast webhook applied by kyc-result before this step ran): a result is never overwritten
     * by the pending state of its own check.
     */
    async setKycPending(r: {
      operatorId: string;
      externalId: string;
      eventId?: string;
      checkId: string;
      provider: string;
      checkedAt: string;
    }): Promise<{ written: boolean }> {
      const value: KycStatusValue = {
        status: 'pending',
        checkId: r.checkId,
        checkedAt: r.checkedAt,
        eventId: r.eventId ?? null,
        provider: r.provider,
      };
      const { written } = await writeState(
        deps,
        { operatorId: r.operatorId, externalId: r.externalId, key: 'kyc_status' },
        (current) => {
          const c = asStatus(current);
          return c && c.checkId === r.checkId && c.status !== 'pending' ? KEEP : value;
        },
        (tx) => lockKycStatus(tx, r.operatorId, r.externalId),
      );
      return { written };
    },

    /** At the deadline: `overdue`, only while this check is still pending (a result written meanwhile stands). */
    async setKycOverdue(r: {
      operatorId: string;
      externalId: string;
      checkId: string;
      deadlineAt: string;
    }): Promise<{ written: boolean; current: string | null }> {
      const { written, value } = await writeState(
        deps,
        { operatorId: r.operatorId, externalId: r.externalId, key: 'kyc_status' },
        (current) => {
          const c = asStatus(current);
          return c && c.status === 'pending' && c.checkId === r.checkId
            ? { ...c, status: 'overdue', checkedAt: r.deadlineAt }
            : KEEP;
        },
        (tx) => lockKycStatus(tx, r.operatorId, r.externalId),
      );
      return { written, current: asStatus(value)?.status ?? null };
    },

    /**
     * Applies one accepted provider result to kyc_status, at most once whoever calls it (the
     * waiting kyc-on-deposit or kyc-result, for the same delivery, maybe at once): under the
     * inbox row's lock, a delivery already applied or superseded is answered as it was; one
     * older (by the provider's own time) than the result standing is marked superseded and not
     * written; else it is written and marked applied by this workflow, in the same transaction.
     * The answer tells the caller whether it applied it (then it alerts) and if it reversed an
     * approval.
     */
    async applyKycResult(r: { operatorId: string; deliveryId: string }): Promise<KycResultApplied> {
      const me = currentWorkflowId();
      const key = { operatorId: r.operatorId, id: r.deliveryId };
      const first = await readResultDelivery(deps.pool, key);
      const none: KycResultApplied = {
        applied: false,
        superseded: false,
        result: first?.result ?? null,
        checkId: first?.checkId ?? null,
        previous: null,
        reversal: false,
        details: first?.details ?? null,
      };
      if (!first?.externalId || !first.result || !first.checkId) return none;
      const result = first.result;
      let d = first;
      let answer = none;
      let mark: 'applied' | 'superseded' | undefined;
      let standingDelivery: string | null = null;
      const write = await writeState(
        deps,
        { operatorId: first.operatorId, externalId: first.externalId, key: 'kyc_status' },
        (current) => {
          mark = undefined;
          if (d.appliedAt) {
            const previous = d.appliedPrevious?.status ?? null;
            answer = {
              ...none,
              applied: d.appliedBy === me,
              previous,
              reversal: previous === 'approved' && result === 'rejected',
            };
            return KEEP;
          }
          if (d.supersededAt) {
            answer = { ...none, superseded: true };
            return KEEP;
          }
          const c = asStatus(current);
          const standing = c?.providerTimestamp ? Date.parse(c.providerTimestamp) : undefined;
          const mine = d.providerTimestamp?.getTime();
          if (standing !== undefined && mine !== undefined && mine <= standing) {
            mark = 'superseded';
            standingDelivery = c?.deliveryId ?? null;
            answer = { ...none, superseded: true, previous: c?.status ?? null };
            return KEEP;
          }
          mark = 'applied';
          answer = {
            ...none,
            applied: true,
            previous: c?.status ?? null,
            reversal: c?.status === 'approved' && result === 'rejected',
          };
          const value: KycStatusValue = {
            status: result,
            checkId: d.checkId!,
            checkedAt: (d.providerTimestamp ?? deps.now()).toISOString(),
            eventId: c?.checkId === d.checkId ? c.eventId : null,
            provider: d.provider,
            providerTimestamp: d.providerTimestamp?.toISOString(),
            deliveryId: d.id,
          };
          return value;
        },
        async (tx) => {
          await lockKycStatus(tx, first.operatorId, first.externalId!);
          d = (await readResultDelivery(tx, key, true)) ?? first;
        },
        async (tx, written) => {
          if (mark === 'superseded') await markResultSuperseded(tx, key, standingDelivery);
          // The player was erased meanwhile: the result can never be applied; say so in the inbox.
          if (mark === 'applied' && !written) await markDeliveryIgnored(tx, key, 'entity_erased');
          if (mark === 'applied' && written)
            await markResultApplied(tx, {
              ...key,
              by: me,
              previous: answer.previous ? { status: answer.previous } : null,
            });
        },
      );
      // The entity was erased meanwhile: nothing written, nothing to alert.
      if (mark === 'applied' && !write.written) return none;
      return answer;
    },
  };
}
