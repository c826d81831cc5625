import { z } from 'zod';
import type { DomainDeps } from '../../core/domain/deps';
import { getWebhookEndpoint, upsertWebhookEndpoint, type WebhookEndpoint } from '../../core/db/webhooks';
import { apiError } from '../../core/errors';
import { webhookUrlProblem } from '../../core/security/webhook-destination';
import { defineRoute } from '../http/route';
import { ok } from '../schemas/common';

/** `whsec_` + base64 of 24 to 64 random bytes, as Standard Webhooks libraries expect. */
const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .refine((s) => {
    const bytes = Buffer.from(s.slice('whsec_'.length), 'base64').length;
    return bytes >= 24 && bytes <= 64;
  }, 'must encode 24 to 64 bytes')
  .meta({
    description: 'Signing secret; generated when omitted (which rotates it)',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  });

const EventPattern = z
  .string()
  .regex(
    /^(\*|[a-z_]+(\.[a-z0-9_]+)*(\.\*)?)$/,
    'must be an internal event name, optionally ending in .* (or just *)',
  )
  .meta({ example: 'entity_event.*' });

const PutWebhookBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .meta({
        description:
          'Receives signed POSTs. Must be https and reach a public address (private, loopback and link-local destinations are refused, here and at each delivery)',
        example: 'https://example.com/hooks/onehazel',
      }),
    secret: WebhookSecret.optional(),
    events: z.array(EventPattern).max(50).default([]).meta({
      description:
        'Internal events to forward besides alerts (always sent), e.g. `entity_event.*`, `entity_state.updated.kyc_status`',
    }),
  })
  .strict()
  .meta({ id: 'PutWebhookRequest' });

const Webhook = z
  .object({
    url: z.string(),
    secret: z.string().meta({ description: 'In full only in the answer to PUT; masked otherwise' }),
    events: z.array(z.string()),
  })
  .meta({ id: 'WebhookEndpoint' });

const view = (e: WebhookEndpoint, secret: string) => ({ url: e.url, secret, events: e.eventFilter });

/** Shows the prefix and the last four characters: enough to tell two secrets apart. */
export const maskSecret = (secret: string): string => `whsec_…${secret.slice(-4)}`;

export function webhookRoutes(deps: DomainDeps, allowPrivateNetworks: boolean) {
  return [
    defineRoute({
      method: 'put',
      path: '/webhooks',
      tag: 'Webhooks',
      summary: 'Set your webhook endpoint',
      description:
        'One endpoint per operator. Receives alerts (`alert.*`) and the internal events listed in `events`, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Failed deliveries are retried with backoff for up to a day; `webhook-id` stays the same across retries.',
      body: PutWebhookBody,
      responses: { 200: { description: 'The endpoint, with its secret in full', schema: ok(Webhook) } },
      handler: async (_ctx, { body, auth }) => {
        const problem = webhookUrlProblem(body.url, allowPrivateNetworks);
        if (problem) {
          throw apiError({
            code: 'VALIDATION_FAILED',
            message: `url ${problem}`,
            details: [{ field: 'url', reason: problem }],
          });
        }
        const endpoint = await upsertWebhookEndpoint(deps.pool, {
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
      summary: 'Get your webhook endpoint',
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
