import { z } from 'zod';
import { cursorPage, ok } from '../schemas/common';
import {
  createConnection,
  listConnections,
  removeConnection,
  requireConnection,
  rotateConnection,
  type ConnectionDeps,
  type ConnectionPolicy,
} from '../../core/domain/provider-connections';
import { providerInboxPage } from '../../core/domain/provider-webhooks';
import { defineRoute } from '../http/route';
import { int } from '../schemas/events';
import {
  Connection,
  connectionBody,
  ConnectionParams,
  ConnectionWithSecret,
  CreateConnectionBody,
  Delivery,
  deliveryBody,
  RotateConnectionBody,
} from '../schemas/providers';

const TAG = 'KYC providers';

const InboxQuery = z.object({
  limit: int(1, 100).default(50).meta({ description: 'Deliveries per page (1-100)', default: 50 }),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: 'Opaque keyset cursor from `next_cursor`' }),
});

const InboxPage = cursorPage(Delivery, 'ListProviderDeliveriesResponse');

/** The operator's KYC provider connection, and the inbox of what its provider sent. */
export function providerConnectionRoutes(deps: ConnectionDeps, policy: ConnectionPolicy) {
  return [
    defineRoute({
      method: 'post',
      path: '/providers/connections',
      tag: TAG,
      summary: 'Connect your KYC provider account',
      description:
        "One connection per operator (a second: 400 VALIDATION_FAILED; rotate or delete the first). Its credentials and webhook secret are encrypted at rest and never shown again: this answer carries the webhook secret in full, once; credentials never. Give the provider `webhookPath` on this API's public address as its webhook URL. Without a connection a test-mode operator's checks go to the local sandbox provider, and a live operator's KYC is not configured.",
      body: CreateConnectionBody,
      responses: {
        201: {
          description: 'The connection, with its webhook secret in full',
          schema: ok(ConnectionWithSecret),
        },
      },
      handler: async (_ctx, { body, auth }) => {
        const { connection, webhookSecret } = await createConnection(deps, policy, {
          operatorId: auth.operatorId,
          provider: body.provider,
          credentials: body.credentials,
          settings: body.settings,
          webhookSecret: body.webhookSecret,
          baseUrl: body.baseUrl,
        });
        return {
          status: 201,
          body: { success: true, data: { ...connectionBody(connection), webhookSecret } },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/providers/connections',
      tag: TAG,
      summary: 'Your KYC provider connection',
      responses: {
        200: { description: 'No secrets (zero or one connection)', schema: ok(z.array(Connection)) },
      },
      handler: async (_ctx, { auth }) => ({
        status: 200,
        body: { success: true, data: (await listConnections(deps, auth.operatorId)).map(connectionBody) },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/providers/connections/:id',
      tag: TAG,
      summary: 'Get a KYC provider connection',
      params: ConnectionParams,
      responses: { 200: { description: 'No secrets', schema: ok(Connection) } },
      handler: async (_ctx, { params, auth }) => ({
        status: 200,
        body: {
          success: true,
          data: connectionBody(await requireConnection(deps, auth.operatorId, params.id)),
        },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/providers/connections/:id/rotate',
      tag: TAG,
      summary: "Replace a connection's credentials or webhook secret",
      description:
        'New credentials apply to the next call to the provider. A replaced webhook secret still verifies deliveries for the grace period (24 hours; WEBHOOK_SECRET_GRACE_MS), since the provider may resend webhooks signed before the change. A generated secret is answered in full, once.',
      params: ConnectionParams,
      body: RotateConnectionBody,
      responses: {
        200: {
          description: 'The connection; `webhookSecret` in full when one was generated or given',
          schema: ok(Connection.extend({ webhookSecret: z.string().optional() })),
        },
      },
      handler: async (_ctx, { params, body, auth }) => {
        const { connection, webhookSecret } = await rotateConnection(deps, policy, {
          operatorId: auth.operatorId,
          id: params.id,
          credentials: body.credentials,
          webhookSecret: body.webhookSecret,
          generateWebhookSecret: body.generateWebhookSecret,
          now: new Date(),
        });
        return {
          status: 200,
          body: {
            success: true,
            data: { ...connectionBody(connection), ...(webhookSecret ? { webhookSecret } : {}) },
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/providers/connections/:id',
      tag: TAG,
      summary: 'Delete a KYC provider connection',
      description:
        'Its webhooks are refused from then on (404). Its inbox stays. A live operator without a connection has no KYC until it connects again.',
      params: ConnectionParams,
      responses: {
        200: { description: 'Deleted', schema: ok(z.object({ id: z.string(), deleted: z.literal(true) })) },
      },
      handler: async (_ctx, { params, auth }) => {
        await removeConnection(deps, auth.operatorId, params.id);
        return { status: 200, body: { success: true, data: { id: params.id, deleted: true } } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/providers/deliveries',
      tag: TAG,
      summary: 'Webhooks your KYC provider sent (the inbox)',
      description:
        'Every delivery that passed its signature check, once (a redelivery changes nothing), newest first, with what it said and its outcome. Cursor-paged: pass `next_cursor` as `cursor`.',
      query: InboxQuery,
      responses: {
        200: {
          description: 'A page of deliveries',
          schema: InboxPage,
        },
      },
      handler: async (_ctx, { query, auth }) => {
        const page = await providerInboxPage(deps, { operatorId: auth.operatorId, ...query });
        return {
          status: 200,
          body: {
            success: true,
            data: page.rows.map(deliveryBody),
            count: page.rows.length,
            has_more: page.hasMore,
            next_cursor: page.nextCursor,
          },
        };
      },
    }),
  ];
}
