import { z } from 'zod';
import type { DomainDeps } from '../../core/domain/deps';
import { getWebhookEndpoint, type WebhookEndpoint } from '../../core/db/webhooks';
import { setShorthandEndpoint, type WebhookPolicy } from '../../core/domain/webhooks';
import { apiError } from '../../core/errors';
import { defineRoute } from '../http/route';
import { ok } from '../schemas/common';
import { EventFilter, maskSecret, WebhookSecret, WebhookUrl } from '../schemas/webhooks';

const PutWebhookBody = z
  .object({
    url: WebhookUrl,
    secret: WebhookSecret.optional().meta({
      description:
        'Signing secret; generated when omitted (which replaces it at once: rotate-secret keeps the old one valid)',
    }),
    events: EventFilter.default([]),
  })
  .strict()
  .meta({ id: 'PutWebhookRequest' });

const Webhook = z
  .object({
    id: z.string().meta({ description: 'The endpoint, also under /webhooks/endpoints' }),
    url: z.string(),
    secret: z.string().meta({ description: 'In full only in the answer to PUT; masked otherwise' }),
    events: z.array(z.string()),
  })
  .meta({ id: 'WebhookEndpoint' });

const view = (e: WebhookEndpoint, secret: string) => ({
  id: e.id,
  url: e.url,
  secret,
  events: e.eventFilter,
});

/**
 * The single-endpoint shorthand: PUT and GET /webhooks manage one endpoint per operator (the
 * one an operator had before several existed), which is also listed under /webhooks/endpoints.
 */
export function webhookRoutes(deps: DomainDeps, policy: WebhookPolicy) {
  return [
    defineRoute({
      method: 'put',
      path: '/webhooks',
      tag: 'Webhooks',
      summary: 'Set your webhook endpoint (single-endpoint shorthand)',
      description:
        'Creates or replaces your shorthand endpoint: one of your endpoints (see /webhooks/endpoints), the one this route and GET /webhooks manage. Receives alerts (`alert.*`) and the internal events listed in `events`, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Failed deliveries are retried with backoff for up to a day; `webhook-id` stays the same across retries.',
      body: PutWebhookBody,
      responses: { 200: { description: 'The endpoint, with its secret in full', schema: ok(Webhook) } },
      handler: async (_ctx, { body, auth }) => {
        const endpoint = await setShorthandEndpoint(deps, policy, {
          operatorId: auth.operatorId,
          url: body.url,
          secret: body.secret,
          eventFilter: body.events,
        });
        return { status: 200, body: { success: true, data: view(endpoint, endpoint.secret) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks',
      tag: 'Webhooks',
      summary: 'Get your webhook endpoint (single-endpoint shorthand)',
      responses: { 200: { description: 'The endpoint, secret masked', schema: ok(Webhook) } },
      handler: async (_ctx, { auth }) => {
        const endpoint = await getWebhookEndpoint(deps.pool, auth.operatorId);
        if (!endpoint)
          throw apiError({ code: 'NOT_FOUND', message: 'No webhook endpoint is set; PUT /webhooks first' });
        return { status: 200, body: { success: true, data: view(endpoint, maskSecret(endpoint.secret)) } };
      },
    }),
  ];
}
