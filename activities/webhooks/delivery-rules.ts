import type { WebhookEndpoint } from '../../core/db/webhooks';

/*
 * The rules of one webhook delivery that need no I/O: when to try again, when to give up, which
 * secrets sign, and what the delivery log says when nothing was sent.
 */

export interface WebhookRetrySchedule {
  initialIntervalMs: number;
  maxIntervalMs: number;
  /** Stop trying once the next attempt would start later than this after the first. */
  windowMs: number;
}

/**
 * The delay before attempt `attempt + 1`: exponential from the initial interval, capped; or
 * undefined when that attempt would start after the retry window (counted from the first).
 */
export function nextWebhookDelay(
  schedule: WebhookRetrySchedule,
  attempt: number,
  firstScheduledMs: number,
  nowMs: number,
): number | undefined {
  const delay = Math.min(schedule.initialIntervalMs * 2 ** Math.min(attempt - 1, 30), schedule.maxIntervalMs);
  return nowMs + delay > firstScheduledMs + schedule.windowMs ? undefined : delay;
}

/** Why a delivery to an endpoint that is deleted or disabled sends nothing (the log's error). */
export function notSentReason(endpoint: WebhookEndpoint | undefined): string {
  if (!endpoint) return 'not sent: the endpoint was deleted';
  return endpoint.disabledReason === 'failing'
    ? 'not sent: the endpoint was disabled automatically (every delivery failed for WEBHOOK_AUTO_DISABLE_AFTER_MS); enable it, then recover'
    : 'not sent: the endpoint was disabled; enable it, then recover';
}

/** The secret before a rotation, while its grace lasts. */
export function previousSecretIn(endpoint: WebhookEndpoint, now: Date): string | undefined {
  const expires = endpoint.previousSecretExpiresAt;
  return endpoint.previousSecret && expires && expires.getTime() > now.getTime()
    ? endpoint.previousSecret
    : undefined;
}

/**
 * Whether a throttled attempt may try again `retryInMs` from now: a throttled message gives up
 * at the end of the retry window like a failing one (see deliverWebhookMessage for why).
 */
export function throttledRetryFits(
  schedule: WebhookRetrySchedule,
  firstScheduledMs: number,
  nowMs: number,
  retryInMs: number,
): boolean {
  return nowMs + retryInMs <= firstScheduledMs + schedule.windowMs;
}
