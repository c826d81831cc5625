import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  log,
  proxyActivities,
  setCurrentDetails,
  sleep,
  startChild,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { DATABASE_ACTIVITY } from '../activity-options';
import type { WebhookMessage } from '../../activities/webhooks/activities';

/**
 * Exactly one HTTP attempt per activity: the retries below are durable timers in this
 * workflow, so each attempt and each wait shows in the history and the UI.
 */
const ONE_ATTEMPT: ActivityOptions = { startToCloseTimeout: '1m', retry: { maximumAttempts: 1 } };

const { planWebhookDelivery } = proxyActivities<Activities>(DATABASE_ACTIVITY);
const { sendWebhook } = proxyActivities<Activities>(ONE_ATTEMPT);

export interface DeliverWebhookInput {
  operatorId: string;
  message: WebhookMessage;
}

export interface WebhookDelivery {
  status: 'delivered' | 'no_endpoint';
  /** The `webhook-id` header, the same on every attempt. */
  messageId: string;
  attempts: number;
}

/**
 * Retired (see fanout-v1.ts): delivers one signed webhook to the operator's endpoint, retrying with exponential backoff
 * on durable timers until WEBHOOK_RETRY_WINDOW_MS (a day by default) has passed; then fails,
 * visibly. Not a definition (no trigger): definitions start it through the helpers below.
 * The webhook-id is this workflow's ID: stable across attempts (the receiver's idempotency
 * key), and quoting it finds the delivery in the Temporal UI.
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<WebhookDelivery> {
  const messageId = workflowInfo().workflowId;
  const plan = await planWebhookDelivery({ operatorId: input.operatorId });
  if (!plan.endpoint) return { status: 'no_endpoint', messageId, attempts: 0 };
  const giveUpAt = Date.now() + plan.retry.windowMs;
  let wait = plan.retry.initialIntervalMs;
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    try {
      const sent = await sendWebhook({
        operatorId: input.operatorId,
        messageId,
        message: input.message,
        attempt,
      });
      setCurrentDetails(
        sent.outcome === 'delivered' ? `delivered on attempt ${attempt}` : 'endpoint removed: not delivered',
      );
      return { status: sent.outcome, messageId, attempts: attempt };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      failure = err.cause?.message ?? err.message;
    }
    if (Date.now() + wait > giveUpAt) {
      throw ApplicationFailure.nonRetryable(
        `gave up after ${attempt} attempts; last: ${failure}`,
        'WebhookDeliveryExhausted',
      );
    }
    log.warn('webhook attempt failed', { attempt, failure, retryInMs: wait });
    setCurrentDetails(`attempt ${attempt} failed (${failure}); next attempt in ${Math.round(wait / 1000)} s`);
    await sleep(wait);
    wait = Math.min(wait * 2, plan.retry.maxIntervalMs);
  }
}

/**
 * Starts the delivery as a child `<this workflow's ID>/<suffix>` and returns once it has
 * started: the caller (and the fan-out above it) finish while the delivery retries for hours.
 */
export async function startWebhookDelivery(input: DeliverWebhookInput, suffix: string): Promise<string> {
  const parent = workflowInfo();
  const workflowId = `${parent.workflowId}/${suffix}`;
  await startChild(deliverWebhook, {
    workflowId,
    args: [input],
    typedSearchAttributes: parent.typedSearchAttributes,
    staticSummary: `webhook ${input.message.type}`,
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  return workflowId;
}
