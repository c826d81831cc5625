import { ActivityFailure, continueAsNew, proxyActivities, setWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DATABASE_ACTIVITY, WEBHOOK_DELIVERY } from './activity-options';
import { operatorPriority } from './fairness';

export interface RecoverWebhooksInput {
  operatorId: string;
  endpointId: string;
  /** ISO time: failed messages created at or after it. */
  since: string;
  /** Where the previous run (before continue-as-new) stopped. */
  after?: { t: string; i: string };
  recovered?: number;
}

export interface RecoverWebhooksResult {
  recovered: number;
  /** The log id of the message whose redelivery failed too; recovery stops there. */
  stoppedAt?: string;
}

/** Messages per run: the history stays small however many failed while the endpoint was down. */
const PAGE = 50;

/**
 * `POST /webhooks/endpoints/:id/recover`: redelivers the endpoint's failed messages since a
 * time, oldest first, one at a time (the throttle: one message in flight per endpoint), each
 * with a first delivery's retries. A message that fails again stops the recovery (the endpoint
 * is still down; recover again later) rather than spending a retry window on every message.
 */
export async function recoverWebhookEndpoint(input: RecoverWebhooksInput): Promise<RecoverWebhooksResult> {
  const priority = operatorPriority(input.operatorId);
  const { failedWebhookMessages } = proxyActivities<Activities>({ ...DATABASE_ACTIVITY, priority });
  const { deliverWebhookMessage } = proxyActivities<Activities>({
    ...WEBHOOK_DELIVERY,
    summary: 'recover: webhook',
    priority,
  });
  const page = await failedWebhookMessages({
    operatorId: input.operatorId,
    endpointId: input.endpointId,
    since: input.since,
    after: input.after,
    limit: PAGE,
  });
  let recovered = input.recovered ?? 0;
  for (const m of page) {
    try {
      const sent = await deliverWebhookMessage({
        operatorId: input.operatorId,
        endpointId: input.endpointId,
        messageId: m.messageId,
        message: m.message,
      });
      // Deleted or disabled meanwhile: nothing more can be delivered to it.
      if (sent.outcome !== 'delivered') return { recovered, stoppedAt: m.id };
    } catch (err) {
      if (err instanceof ActivityFailure) return { recovered, stoppedAt: m.id };
      throw err;
    }
    recovered++;
  }
  const last = page[page.length - 1];
  if (page.length === PAGE && last) {
    return continueAsNew<typeof recoverWebhookEndpoint>({ ...input, after: last.cursor, recovered });
  }
  return { recovered };
}

// Auto-upgrade: as resendWebhookMessage (a redelivery per failed message, each with a first
// delivery's retries). Its steps change behind `patched()`; continue-as-new every page.
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, recoverWebhookEndpoint);
