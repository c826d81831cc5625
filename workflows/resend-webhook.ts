import { proxyActivities, setWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WebhookDelivery, WebhookMessage } from '../activities/webhooks/activities';
import { WEBHOOK_DELIVERY } from './activity-options';
import { operatorPriority } from './fairness';

export interface ResendWebhookInput {
  operatorId: string;
  endpointId: string;
  /** The message's original `webhook-id`: the receiver can tell it is the same message. */
  messageId: string;
  message: WebhookMessage;
}

/**
 * `POST /webhooks/messages/:id/resend`: delivers one logged message to its endpoint again,
 * with the retries of a first delivery (ID `webhook-resend:<log id>`; a resend asked for while
 * one runs joins it).
 */
export async function resendWebhookMessage(input: ResendWebhookInput): Promise<WebhookDelivery> {
  const { deliverWebhookMessage } = proxyActivities<Activities>({
    ...WEBHOOK_DELIVERY,
    summary: `resend: webhook ${input.message.type}`,
    priority: operatorPriority(input.operatorId),
  });
  return deliverWebhookMessage(input);
}

// Auto-upgrade: one delivery whose retries can last WEBHOOK_RETRY_WINDOW_MS; on the newest
// build a fix to delivery reaches the retries still to come. Its steps change behind `patched()`.
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, resendWebhookMessage);
