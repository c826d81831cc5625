import { ApplicationFailure } from '@temporalio/common';
import { markDeliveryIgnored, readDeliveryToFetch, recordFetchedResult } from '../../core/db/kyc-results';
import { withTransaction } from '../../core/db/pool';
import { findProviderConnectionById } from '../../core/db/provider-connections';
import { readInboxRow } from '../../core/db/provider-inbox';
import { writeProviderResultEvent } from '../../core/db/provider-result-event';
import { openConnection } from '../../core/domain/provider-connections';
import type { PiiCipher } from '../../core/security/pii';
import type { ResolvedDeps } from '../index';
import { startPendingFanout } from '../state-writer';
import { clientForConnection } from './providers';

export interface FetchedKycResult {
  /** What the delivery now says: its result, or why there is none. */
  outcome: 'fetched' | 'already_fetched' | 'ignored';
  result: string | null;
  reason?: string;
}

/** The check is complete at the provider, but its result is not readable yet: retried. */
export const KYC_RESULT_NOT_READY = 'KycResultNotReady';

/**
 * Onfido's `check.completed` webhook says that a check finished, not how. Its result is read
 * here, in the worker, rather than while the webhook waits for its answer: the receiver then
 * answers after one insert, whatever Onfido's API is doing, and this read gets Temporal's
 * retries (a slow or failing Onfido API delays the result; it does not lose it, nor make the
 * provider resend). The result read becomes an accepted delivery like any other, and its
 * `provider.webhook.kyc.<result>` event is written in the same transaction, so the waiting
 * kyc-on-deposit and kyc-result apply it as they apply a Sumsub result.
 */
export function kycFetchActivities(deps: ResolvedDeps, pii: PiiCipher) {
  return {
    async fetchKycResult(r: { operatorId: string; deliveryId: string }): Promise<FetchedKycResult> {
      const key = { operatorId: r.operatorId, id: r.deliveryId };
      const d = await readDeliveryToFetch(deps.pool, key);
      if (!d) return { outcome: 'ignored', result: null, reason: 'no_such_delivery' };
      if (d.outcome !== 'result_to_fetch')
        return d.outcome === 'accepted'
          ? { outcome: 'already_fetched', result: d.result }
          : { outcome: 'ignored', result: null };
      const row = await findProviderConnectionById(deps.pool, d.connectionId);
      const client = row && clientForConnection({ ...deps, pii }, openConnection(pii, row, deps.now()));
      if (!row || !client?.readCheckResult || !d.checkId) {
        // The connection was deleted (its credentials with it): nobody can read this result now.
        await markDeliveryIgnored(deps.pool, key, 'connection_removed');
        return { outcome: 'ignored', result: null, reason: 'connection_removed' };
      }
      const read = await client.readCheckResult(d.checkId);
      if (read.ended) {
        await markDeliveryIgnored(deps.pool, key, read.ended);
        return { outcome: 'ignored', result: null, reason: read.ended };
      }
      const result = read.result;
      if (!result)
        throw ApplicationFailure.create({
          type: KYC_RESULT_NOT_READY,
          message: `${d.provider} check ${d.checkId} is complete but has no result yet`,
        });
      const written = await withTransaction(deps.pool, async (tx) => {
        // Under the row's lock: a concurrent attempt finds it already fetched and writes nothing.
        const locked = await readDeliveryToFetch(tx, key, true);
        if (locked?.outcome !== 'result_to_fetch') return undefined;
        await recordFetchedResult(tx, key, result);
        const fetched = await readInboxRow(tx, key);
        return fetched ? writeProviderResultEvent(tx, fetched) : undefined;
      });
      if (written?.start) await startPendingFanout(deps, written.start);
      return { outcome: written ? 'fetched' : 'already_fetched', result };
    },
  };
}
