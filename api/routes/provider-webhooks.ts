import '../schemas/common';
import type { ConnectionDeps } from '../../core/domain/provider-connections';
import { acceptProviderDelivery, requireWebhookConnection } from '../../core/domain/provider-webhooks';
import { readRawBody } from '../http/body';
import { defineRoute } from '../http/route';
import type { RateLimiter } from '../middleware/rate-limit';
import type { FanoutDispatcher } from '../../core/fanout/dispatcher';
import { WebhookAnswer, WebhookParams } from '../schemas/providers';
import { z } from 'zod';

/** Provider webhooks are small (a Sumsub or Onfido event is under 2 KB); anything near this is not one. */
export const PROVIDER_WEBHOOK_BODY_LIMIT = 64 * 1024;

export interface ProviderWebhookDeps extends ConnectionDeps {
  /** Takes the result's internal event out of the outbox after commit (starts, signals waits). */
  dispatcher: Pick<FanoutDispatcher, 'dispatch'>;
  rateLimiter: Pick<RateLimiter, 'check'>;
  /** Deliveries per minute per connection (PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE). */
  ratePerMinute: number;
}

export function providerWebhookRoutes(deps: ProviderWebhookDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/providers/:provider/webhooks/:connectionId',
      tag: 'KYC providers',
      summary: "Receive your KYC provider's webhook",
      description: `Called by the provider, not by you: no API key. The provider's signature over the raw body is the authentication (Sumsub \`X-Payload-Digest\` with \`X-Payload-Digest-Alg\`; Onfido \`X-SHA2-Signature\`; sandbox \`X-Sandbox-Digest\`), checked in constant time before the body is parsed: missing or wrong, 401 and nothing recorded. In this order: an unknown connection, or one of another provider: 404; over the per-connection rate (\`PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE\`, checked before the body is read or the signature computed): 429 with \`Retry-After\`; over ${PROVIDER_WEBHOOK_BODY_LIMIT} bytes: 413; bad signature: 401; not JSON or not the provider's shape: 400. None of these records anything. Accepted deliveries are recorded once; a redelivery answers 200 with \`duplicate: true\` and changes nothing.`,
      auth: false,
      params: WebhookParams,
      bodyDoc: z
        .record(z.string(), z.unknown())
        .meta({ description: "The provider's webhook, as it sends it" }),
      responses: { 200: { description: 'Recorded (or already recorded)', schema: WebhookAnswer } },
      handler: async (ctx, { params }) => {
        const connection = await requireWebhookConnection(deps, params.provider, params.connectionId);
        // Rate, then size, before the secrets are opened and the HMAC computed: a flood against
        // one receiver costs us a lookup and a counter per request, not a body and a signature.
        await deps.rateLimiter.check(ctx, `provider_connection:${connection.id}`, deps.ratePerMinute);
        const raw = await readRawBody(ctx, PROVIDER_WEBHOOK_BODY_LIMIT);
        const accepted = await acceptProviderDelivery(deps, connection, ctx.headers, raw, new Date());
        return { status: 200, body: { success: true, data: accepted } };
      },
    }),
  ];
}
