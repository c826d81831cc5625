import { z } from 'zod';
import type { WebhookEndpoint } from '../../core/db/webhooks';
import { iso } from './common';

/** `whsec_` + base64 of 24 to 64 random bytes, as Standard Webhooks libraries expect. */
export const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .refine((s) => {
    const bytes = Buffer.from(s.slice('whsec_'.length), 'base64').length;
    return bytes >= 24 && bytes <= 64;
  }, 'must encode 24 to 64 bytes')
  .meta({
    description: 'Signing secret; generated when omitted',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  });

const EventPattern = z
  .string()
  .regex(
    /^(\*|[a-z_]+(\.[a-z0-9_]+)*(\.\*)?)$/,
    'must be an internal event name, optionally ending in .* (or just *)',
  )
  .meta({ example: 'entity_event.*' });

export const WebhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .meta({
    description:
      'Receives signed POSTs. Must be https and reach a public address (private, loopback and link-local destinations are refused, here and at each delivery)',
    example: 'https://example.com/hooks/onehazel',
  });

export const EventFilter = z.array(EventPattern).max(50).meta({
  description:
    'Internal events to forward besides alerts (always sent), e.g. `entity_event.*`, `entity_state.updated.kyc_status`, or `*` for all',
});

const Description = z.string().max(500).meta({ example: 'Risk team' });

const RateLimit = z.number().int().min(1).max(1000).nullable().meta({
  description:
    'Deliveries per second to this endpoint at most (null: no limit); the rest wait for the next second, holding no worker. A message still over the limit when the retry window (24 h) ends gives up, logged as failed (recoverable), without counting towards auto-disable',
  example: 10,
});

export const EndpointParams = z.object({
  id: z
    .string()
    .regex(/^wep_[0-9a-f]{16}$/, 'must be a webhook endpoint id')
    .meta({ example: 'wep_0123456789abcdef' }),
});

export const CreateEndpointBody = z
  .object({
    url: WebhookUrl,
    description: Description.default(''),
    events: EventFilter.default([]),
    enabled: z.boolean().default(true),
    rateLimitPerSecond: RateLimit.default(null),
    secret: WebhookSecret.optional(),
  })
  .strict()
  .meta({ id: 'CreateWebhookEndpointRequest' });

export const PatchEndpointBody = z
  .object({
    url: WebhookUrl.optional(),
    description: Description.optional(),
    events: EventFilter.optional(),
    enabled: z.boolean().optional(),
    rateLimitPerSecond: RateLimit.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'name at least one field to change')
  .meta({ id: 'PatchWebhookEndpointRequest' });

export const Endpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    rateLimitPerSecond: z.number().int().nullable(),
    disabledReason: z.enum(['failing']).nullable().meta({
      description:
        '`failing`: disabled automatically, every delivery having failed for 5 days (WEBHOOK_AUTO_DISABLE_AFTER_MS); its messages are meanwhile logged as failed without being sent, for `recover` once it is enabled again (which starts the count over)',
    }),
    secret: z.string().meta({
      description: 'In full only in the answer that creates it (or rotates it); masked otherwise',
    }),
    previousSecretExpiresAt: z.string().nullable().meta({
      description: 'Until then the secret before the last rotation signs too (two signatures)',
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'WebhookEndpointDetail' });

/** Shows the prefix and the last four characters: enough to tell two secrets apart. */
export const maskSecret = (secret: string): string => `whsec_…${secret.slice(-4)}`;

export function endpointView(e: WebhookEndpoint, o: { revealSecret: boolean; now?: Date }) {
  const expires = e.previousSecretExpiresAt;
  const graceLeft = expires && expires.getTime() > (o.now ?? new Date()).getTime();
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.eventFilter,
    enabled: e.enabled,
    rateLimitPerSecond: e.rateLimitPerSecond,
    disabledReason: e.disabledReason === 'failing' ? ('failing' as const) : null,
    secret: o.revealSecret ? e.secret : maskSecret(e.secret),
    previousSecretExpiresAt: graceLeft ? iso(expires) : null,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}
