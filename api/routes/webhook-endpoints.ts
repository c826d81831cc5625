import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { DomainDeps } from '../../core/domain/deps';
import { listWebhookEndpoints, MAX_WEBHOOK_ENDPOINTS } from '../../core/db/webhooks';
import {
  addEndpoint,
  changeEndpoint,
  recoverEndpoint,
  removeEndpoint,
  requireEndpoint,
  rotateEndpointSecret,
  type WebhookPolicy,
} from '../../core/domain/webhooks';
import { defineRoute } from '../http/route';
import { iso, ok } from '../schemas/common';
import { timestamp } from '../schemas/events';
import {
  CreateEndpointBody,
  Endpoint,
  EndpointParams,
  endpointView,
  PatchEndpointBody,
} from '../schemas/webhooks';

const TAG = 'Webhook endpoints';

/** Several endpoints per operator, each with its own URL, event filter and secret. */
const RecoverBody = z
  .object({
    since: timestamp.meta({
      description: 'Redeliver failed messages created at or after this time (within the log retention)',
      example: '2026-11-30T00:00:00Z',
    }),
  })
  .strict()
  .meta({ id: 'RecoverWebhookEndpointRequest' });

const RecoverAnswer = ok(
  z.object({ id: z.string(), since: z.string(), workflowId: z.string(), runId: z.string() }),
);

export function webhookEndpointRoutes(
  deps: DomainDeps & { temporal: Client; taskQueue: string },
  policy: WebhookPolicy,
) {
  return [
    defineRoute({
      method: 'post',
      path: '/webhooks/endpoints',
      tag: TAG,
      summary: 'Add a webhook endpoint',
      description: `At most ${MAX_WEBHOOK_ENDPOINTS} endpoints per operator (400 VALIDATION_FAILED beyond). Every enabled endpoint receives alerts (\`alert.*\`); forwarded internal events go to each enabled endpoint whose \`events\` match (\`*\` for all, \`prefix.*\` for a family). Each endpoint has its own \`whsec_\` secret, shown in full only in this answer; each delivery is retried on its own.`,
      body: CreateEndpointBody,
      responses: { 201: { description: 'The endpoint, with its secret in full', schema: ok(Endpoint) } },
      handler: async (_ctx, { body, auth }) => {
        const endpoint = await addEndpoint(deps, policy, {
          operatorId: auth.operatorId,
          url: body.url,
          description: body.description,
          eventFilter: body.events,
          enabled: body.enabled,
          rateLimitPerSecond: body.rateLimitPerSecond,
          secret: body.secret,
        });
        return { status: 201, body: { success: true, data: endpointView(endpoint, { revealSecret: true }) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/endpoints',
      tag: TAG,
      summary: 'List your webhook endpoints',
      responses: {
        200: { description: 'Oldest first, secrets masked', schema: ok(z.array(Endpoint)) },
      },
      handler: async (_ctx, { auth }) => {
        const endpoints = await listWebhookEndpoints(deps.pool, auth.operatorId);
        return {
          status: 200,
          body: { success: true, data: endpoints.map((e) => endpointView(e, { revealSecret: false })) },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/endpoints/:id',
      tag: TAG,
      summary: 'Get one webhook endpoint',
      params: EndpointParams,
      responses: { 200: { description: 'The endpoint, secret masked', schema: ok(Endpoint) } },
      handler: async (_ctx, { params, auth }) => {
        const endpoint = await requireEndpoint(deps, auth.operatorId, params.id);
        return {
          status: 200,
          body: { success: true, data: endpointView(endpoint, { revealSecret: false }) },
        };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/webhooks/endpoints/:id',
      tag: TAG,
      summary: 'Change a webhook endpoint',
      description:
        'Changes only the fields given. An endpoint disabled here receives nothing and keeps nothing: no message is planned for it (deliveries still retrying to it stop at their next attempt, logged as failed). An endpoint disabled automatically (`disabledReason: failing`) keeps its messages as failed in the delivery log, for `recover` once it is enabled again; disabling it here as well stops that. Enabling an endpoint clears `disabledReason`.',
      params: EndpointParams,
      body: PatchEndpointBody,
      responses: { 200: { description: 'The endpoint, secret masked', schema: ok(Endpoint) } },
      handler: async (_ctx, { params, body, auth }) => {
        const endpoint = await changeEndpoint(deps, policy, auth.operatorId, params.id, {
          url: body.url,
          description: body.description,
          eventFilter: body.events,
          enabled: body.enabled,
          rateLimitPerSecond: body.rateLimitPerSecond,
        });
        return {
          status: 200,
          body: { success: true, data: endpointView(endpoint, { revealSecret: false }) },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/webhooks/endpoints/:id',
      tag: TAG,
      summary: 'Delete a webhook endpoint',
      params: EndpointParams,
      responses: {
        200: {
          description: 'Deleted',
          schema: ok(z.object({ id: z.string(), deleted: z.literal(true) })),
        },
      },
      handler: async (_ctx, { params, auth }) => {
        await removeEndpoint(deps, auth.operatorId, params.id);
        return { status: 200, body: { success: true, data: { id: params.id, deleted: true } } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/endpoints/:id/rotate-secret',
      tag: TAG,
      summary: "Rotate an endpoint's signing secret",
      description:
        'Answers the new secret in full. For the grace period (24 hours) deliveries carry two signatures in `webhook-signature`, space-separated: one under the new secret, one under the old, so a receiver can switch secrets at its own pace. A disabled endpoint is refused (400 VALIDATION_FAILED).',
      params: EndpointParams,
      responses: { 200: { description: 'The endpoint, with its new secret in full', schema: ok(Endpoint) } },
      handler: async (_ctx, { params, auth }) => {
        const endpoint = await rotateEndpointSecret(deps, policy, auth.operatorId, params.id);
        return { status: 200, body: { success: true, data: endpointView(endpoint, { revealSecret: true }) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/endpoints/:id/recover',
      tag: TAG,
      summary: "Redeliver an endpoint's failed messages since a time",
      description:
        "Every message to this endpoint whose delivery failed (gave up after the retry window) since `since` is delivered again, oldest first, one at a time, each with a first delivery's retries; a message failing again stops the recovery. This includes the messages kept, untried, while the endpoint was disabled automatically, and those that gave up throttled. Durable (a Temporal workflow); asked again while one runs, it answers that run. `since` in the future or beyond the delivery log's retention, or a disabled endpoint: 400 VALIDATION_FAILED, nothing started.",
      params: EndpointParams,
      body: RecoverBody,
      responses: {
        202: { description: 'The recovery started (or was already running)', schema: RecoverAnswer },
      },
      handler: async (_ctx, { params, body, auth }) => {
        const run = await recoverEndpoint(deps, policy, {
          operatorId: auth.operatorId,
          id: params.id,
          since: body.since,
          now: new Date(),
        });
        return {
          status: 202,
          body: { success: true, data: { id: params.id, since: iso(body.since), ...run } },
        };
      },
    }),
  ];
}
