import { ApplicationFailure } from '@temporalio/common';
import { getWebhookEndpoint } from '../../core/db/webhooks';
import { assertPublicDestination } from '../../core/security/webhook-destination';
import { triggerMatches } from '../../workflows/definition';
import { postJson, HttpUnreachableError } from '../http';
import type { ResolvedDeps } from '../index';
import { webhookHeaders } from './signing';

/** The body every operator webhook carries (Standard Webhooks' recommended shape). */
export interface WebhookMessage {
  /** `alert.<kind>` for alerts, the internal event (e.g. `entity_event.transaction`) otherwise. */
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookRetrySchedule {
  initialIntervalMs: number;
  maxIntervalMs: number;
  /** Stop trying once the next attempt would start later than this after the first. */
  windowMs: number;
}

export type WebhookAttempt = { outcome: 'delivered'; status: number } | { outcome: 'no_endpoint' };

export const WebhookFailure = { DELIVERY_FAILED: 'WebhookDeliveryFailed' } as const;

export function webhookActivities(deps: ResolvedDeps) {
  return {
    /**
     * Whether the operator forwards this internal event: its endpoint's event filter holds a
     * matching pattern (a trailing `*` matches a prefix). Alerts do not ask: they always go.
     */
    async isSubscribed(s: { operatorId: string; internalEvent: string }): Promise<boolean> {
      const endpoint = await getWebhookEndpoint(deps.pool, s.operatorId);
      return endpoint !== undefined && triggerMatches(endpoint.eventFilter, s.internalEvent);
    },

    /** Whether there is an endpoint at all, and the retry schedule from config (workflows cannot read config). */
    async planWebhookDelivery(p: {
      operatorId: string;
    }): Promise<{ endpoint: boolean; retry: WebhookRetrySchedule }> {
      const endpoint = await getWebhookEndpoint(deps.pool, p.operatorId);
      return {
        endpoint: endpoint !== undefined,
        retry: {
          initialIntervalMs: deps.config.WEBHOOK_RETRY_INITIAL_MS,
          maxIntervalMs: deps.config.WEBHOOK_RETRY_MAX_INTERVAL_MS,
          windowMs: deps.config.WEBHOOK_RETRY_WINDOW_MS,
        },
      };
    },

    /**
     * One delivery attempt, signed now. The endpoint is read on every attempt, so a URL or
     * secret the operator fixes while we retry is used by the next attempt. Any answer but
     * 2xx fails the attempt; the delivering workflow decides when to try again.
     */
    async sendWebhook(a: {
      operatorId: string;
      messageId: string;
      message: WebhookMessage;
      attempt: number;
    }): Promise<WebhookAttempt> {
      const endpoint = await getWebhookEndpoint(deps.pool, a.operatorId);
      if (!endpoint) return { outcome: 'no_endpoint' };
      try {
        await assertPublicDestination(endpoint.url, deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS);
      } catch (err) {
        // Like an unreachable endpoint: retried on the workflow's timers, so a URL the
        // operator fixes meanwhile is used by the next attempt.
        throw ApplicationFailure.create({
          type: WebhookFailure.DELIVERY_FAILED,
          message: `attempt ${a.attempt}: destination refused: ${(err as Error).message}`,
        });
      }
      const body = JSON.stringify(a.message);
      const timestamp = Math.floor(deps.now().getTime() / 1000);
      let status: number;
      try {
        ({ status } = await postJson(deps.fetch, endpoint.url, {
          body,
          headers: webhookHeaders({ secret: endpoint.secret, id: a.messageId, timestamp, body }),
          timeoutMs: deps.config.HTTP_TIMEOUT_MS,
        }));
      } catch (err) {
        if (err instanceof HttpUnreachableError) {
          throw ApplicationFailure.create({
            type: WebhookFailure.DELIVERY_FAILED,
            message: `attempt ${a.attempt}: ${err.message}`,
          });
        }
        throw err;
      }
      if (status < 200 || status >= 300) {
        throw ApplicationFailure.create({
          type: WebhookFailure.DELIVERY_FAILED,
          message: `attempt ${a.attempt}: endpoint answered ${status}`,
          details: [{ status }],
        });
      }
      return { outcome: 'delivered', status };
    },
  };
}
