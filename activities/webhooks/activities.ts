import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { findWebhookEndpoint, webhookDeliveryTargets, type WebhookEndpoint } from '../../core/db/webhooks';
import {
  listFailedWebhookMessages,
  recordWebhookAttempt,
  type WebhookMessageStatus,
} from '../../core/db/webhook-log';
import { assertAddressesAllowed, DestinationRefusedError } from '../../core/security/webhook-destination';
import { HttpUnreachableError } from '../http';
import { takeDeliverySlot } from '../../core/db/webhook-throttle';
import { endpointHealth } from './endpoint-health';
import { postPinned } from './pinned-post';
import type { ResolvedDeps } from '../index';
import { webhookHeaders } from '../../core/security/webhook-signing';
import {
  nextWebhookDelay,
  notSentReason,
  previousSecretIn,
  throttledRetryFits,
  type WebhookRetrySchedule,
} from './delivery-rules';

export type { WebhookRetrySchedule } from './delivery-rules';

/** The body every operator webhook carries (Standard Webhooks' recommended shape). */
export interface WebhookMessage {
  /** `alert.<kind>` for alerts, the internal event (e.g. `entity_event.transaction`) otherwise. */
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

interface AttemptTrace {
  statusCode?: number;
  excerpt?: string;
}

export type WebhookAttempt =
  | { outcome: 'delivered'; status: number }
  /** `notSent`: why, when the endpoint named exists no more or is disabled (for the delivery log). */
  | { outcome: 'no_endpoint'; notSent?: string };

export const WebhookFailure = {
  DELIVERY_FAILED: 'WebhookDeliveryFailed',
  /** The endpoint's rate limit is reached: tried again in the next window, nothing was sent. */
  THROTTLED: 'WebhookDeliveryThrottled',
  EXHAUSTED: 'WebhookDeliveryExhausted',
} as const;

export interface WebhookDelivery {
  outcome: 'delivered' | 'no_endpoint';
  /** The `webhook-id` header, the same on every attempt. */
  messageId: string;
  attempts: number;
}

export function webhookActivities(deps: ResolvedDeps) {
  const health = endpointHealth(deps);
  /** The endpoint named, if it still exists and is enabled, else why nothing is sent. */
  const endpointFor = async (a: {
    operatorId: string;
    endpointId: string;
  }): Promise<{ endpoint: WebhookEndpoint } | { notSent?: string }> => {
    const endpoint = await findWebhookEndpoint(deps.pool, a.operatorId, a.endpointId);
    if (endpoint?.enabled) return { endpoint };
    return { notSent: notSentReason(endpoint) };
  };
  /**
   * The delivery log (GET /webhooks/messages): best effort, so a log that cannot be written
   * never turns a delivered message into a retried (duplicated) one.
   */
  const logAttempt = async (
    d: { operatorId: string; endpointId: string; messageId: string; message: WebhookMessage },
    a: {
      attempt: number;
      status: WebhookMessageStatus;
      error: string | null;
      nextAttemptAt: Date | null;
      trace: AttemptTrace;
      startedMs: number;
    },
  ): Promise<void> => {
    await recordWebhookAttempt(deps.pool, {
      operatorId: d.operatorId,
      endpointId: d.endpointId,
      messageId: d.messageId,
      eventType: d.message.type,
      payload: d.message,
      attempt: a.attempt,
      status: a.status,
      statusCode: a.trace.statusCode ?? null,
      durationMs: Date.now() - a.startedMs,
      responseExcerpt: a.trace.excerpt ?? null,
      error: a.error,
      nextAttemptAt: a.nextAttemptAt,
    }).catch((err: unknown) => deps.log.warn({ err, messageId: d.messageId }, 'webhook log not written'));
  };
  const retrySchedule = (): WebhookRetrySchedule => ({
    initialIntervalMs: deps.config.WEBHOOK_RETRY_INITIAL_MS,
    maxIntervalMs: deps.config.WEBHOOK_RETRY_MAX_INTERVAL_MS,
    windowMs: deps.config.WEBHOOK_RETRY_WINDOW_MS,
  });
  /**
   * One delivery attempt, signed now. The endpoint is read on every attempt, so a URL or
   * secret the operator fixes while we retry is used by the next attempt. Any answer but
   * 2xx fails the attempt; the caller decides when to try again.
   */
  async function sendOnce(a: {
    operatorId: string;
    endpointId: string;
    messageId: string;
    message: WebhookMessage;
    attempt: number;
    /** Filled with what the receiver answered, for the delivery log. */
    trace?: AttemptTrace;
  }): Promise<WebhookAttempt> {
    const found = await endpointFor(a);
    if (!('endpoint' in found)) return { outcome: 'no_endpoint', notSent: found.notSent };
    const { endpoint } = found;
    if (endpoint.rateLimitPerSecond !== null) {
      const waitMs = await takeDeliverySlot(deps.pool, endpoint.id, endpoint.rateLimitPerSecond);
      if (waitMs !== undefined) {
        // Returned at once, so a throttled endpoint holds no worker slot while it waits; the
        // jitter spreads the waiting messages over the next window instead of its first instant.
        throw ApplicationFailure.create({
          type: WebhookFailure.THROTTLED,
          message: `endpoint ${endpoint.id} is at its ${endpoint.rateLimitPerSecond}/s limit`,
          nextRetryDelay: waitMs + Math.floor(Math.random() * 1000),
        });
      }
    }
    const body = JSON.stringify(a.message);
    const timestamp = Math.floor(deps.now().getTime() / 1000);
    let status: number;
    try {
      let excerpt: string;
      ({ status, excerpt } = await postPinned(endpoint.url, {
        body,
        headers: webhookHeaders({
          secret: endpoint.secret,
          previousSecret: previousSecretIn(endpoint, deps.now()),
          id: a.messageId,
          timestamp,
          body,
        }),
        timeoutMs: deps.config.HTTP_TIMEOUT_MS,
        resolve: deps.resolveHost,
        checkAddresses: (url, addresses) =>
          assertAddressesAllowed(url, addresses, deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS),
      }));
      if (a.trace) a.trace.excerpt = excerpt;
    } catch (err) {
      // A refused destination is like an unreachable endpoint: retried on the activity's
      // schedule, so a URL the operator fixes meanwhile is used by the next attempt.
      if (err instanceof HttpUnreachableError || err instanceof DestinationRefusedError) {
        throw ApplicationFailure.create({
          type: WebhookFailure.DELIVERY_FAILED,
          message: `attempt ${a.attempt}: ${err instanceof DestinationRefusedError ? 'destination refused: ' : ''}${err.message}`,
        });
      }
      throw err;
    }
    if (a.trace) a.trace.statusCode = status;
    if (status < 200 || status >= 300) {
      throw ApplicationFailure.create({
        type: WebhookFailure.DELIVERY_FAILED,
        message: `attempt ${a.attempt}: endpoint answered ${status}`,
        details: [{ status }],
      });
    }
    return { outcome: 'delivered', status };
  }

  return {
    /**
     * Delivers one signed webhook, one HTTP attempt per activity attempt. Temporal retries it:
     * each failed attempt names its own next delay (WEBHOOK_RETRY_* config, exponential and
     * capped), and once the next attempt would start after the retry window the attempt fails
     * non-retryably (WebhookDeliveryExhausted), which the event's workflow reports as the
     * definition's failure. Each attempt re-reads the endpoint, so a URL or secret the operator
     * fixes meanwhile is used by the next attempt; an endpoint removed or disabled (also before
     * the first attempt: an automatically disabled endpoint stays a target) ends it, the message
     * logged as failed with the reason, for recover. A throttled message gives up at the end of
     * the retry window too.
     */
    async deliverWebhookMessage(d: {
      operatorId: string;
      endpointId: string;
      messageId: string;
      message: WebhookMessage;
    }): Promise<WebhookDelivery> {
      const info = Context.current().info;
      const trace: AttemptTrace = {};
      const startedMs = Date.now();
      const log = (status: WebhookMessageStatus, error: string | null, nextAttemptAt: Date | null) =>
        logAttempt(d, { attempt: info.attempt, status, error, nextAttemptAt, trace, startedMs });
      try {
        const sent = await sendOnce({ ...d, attempt: info.attempt, trace });
        if (sent.outcome === 'delivered') {
          await log('delivered', null, null);
          await health.delivered(d.endpointId);
        } else if (sent.notSent) {
          // Kept in the log as failed (nothing was sent), so recover can bring it back once the
          // endpoint is enabled again; the event's workflow has nothing left to retry.
          await log('failed', sent.notSent, null);
        }
        return { outcome: sent.outcome, messageId: d.messageId, attempts: info.attempt };
      } catch (err) {
        const failure = err as ApplicationFailure;
        const schedule = retrySchedule();
        if (failure?.type === WebhookFailure.THROTTLED) {
          const retryInMs = typeof failure.nextRetryDelay === 'number' ? failure.nextRetryDelay : 1000;
          if (throttledRetryFits(schedule, info.scheduledTimestampMs, deps.now().getTime(), retryInMs))
            throw err;
          // Bounded like a failing delivery: a message throttled for the whole retry window gives
          // up, logged as failed (recoverable, and visible to the operator, who may raise the
          // limit), rather than waiting without limit while a backlog grows unseen in Temporal.
          // The endpoint did not fail, so this does not count towards auto-disable.
          const why = `throttled for the whole retry window (${failure.message}); not sent`;
          await log('failed', why, null);
          throw ApplicationFailure.create({
            type: WebhookFailure.EXHAUSTED,
            message: `gave up after ${info.attempt} attempts; ${why}`,
            nonRetryable: true,
          });
        }
        if (failure?.type !== WebhookFailure.DELIVERY_FAILED) throw err;
        const delay = nextWebhookDelay(
          schedule,
          info.attempt,
          info.scheduledTimestampMs,
          deps.now().getTime(),
        );
        await log(
          delay === undefined ? 'failed' : 'pending',
          failure.message,
          delay === undefined ? null : new Date(deps.now().getTime() + delay),
        );
        if (delay === undefined) {
          await health.gaveUp(d.operatorId, d.endpointId, new Date(info.scheduledTimestampMs));
          throw ApplicationFailure.create({
            type: WebhookFailure.EXHAUSTED,
            message: `gave up after ${info.attempt} attempts; last: ${failure.message}`,
            nonRetryable: true,
          });
        }
        throw ApplicationFailure.create({
          type: WebhookFailure.DELIVERY_FAILED,
          message: failure.message,
          details: failure.details ?? undefined,
          nextRetryDelay: delay,
        });
      }
    },

    /** A page of an endpoint's failed messages since a time, oldest first (for recover). */
    async failedWebhookMessages(q: {
      operatorId: string;
      endpointId: string;
      since: string;
      after?: { t: string; i: string };
      limit: number;
    }): Promise<
      Array<{ id: string; messageId: string; message: WebhookMessage; cursor: { t: string; i: string } }>
    > {
      const rows = await listFailedWebhookMessages(deps.pool, { ...q, since: new Date(q.since) });
      return rows.map((r) => ({
        id: r.id,
        messageId: r.messageId,
        message: r.payload as WebhookMessage,
        cursor: r.cursor,
      }));
    },

    /**
     * The endpoints one message goes to, each then delivered (and retried) by its own
     * deliverWebhookMessage: every enabled endpoint for an alert, those whose filter matches
     * for a forwarded event.
     */
    async webhookTargets(t: {
      operatorId: string;
      kind: 'alert' | 'event';
      internalEvent: string;
    }): Promise<string[]> {
      return webhookDeliveryTargets(deps.pool, t);
    },
  };
}
