import { z } from 'zod';
import type { WebhookAttemptRow, WebhookMessageRow } from '../../core/db/webhook-log';
import type { Client } from '@temporalio/client';
import type { DomainDeps } from '../../core/domain/deps';
import { resendWebhookMessage, webhookAttempts, webhookMessagePage } from '../../core/domain/webhook-log';
import { defineRoute } from '../http/route';
import { cursorPage, iso, ok } from '../schemas/common';
import { int, timestamp } from '../schemas/events';

const TAG = 'Webhook endpoints';
const isoOrNull = (d: Date | null) => (d ? iso(d) : null);

const ListMessagesQuery = z.object({
  endpoint: z
    .string()
    .regex(/^wep_[0-9a-f]{16}$/, 'must be a webhook endpoint id')
    .optional()
    .meta({ description: 'Only messages to this endpoint' }),
  status: z.enum(['pending', 'delivered', 'failed']).optional().meta({
    description: '`pending`: retrying; `failed`: gave up after the retry window',
  }),
  since: timestamp.optional().meta({ description: 'Only messages first attempted at or after this time' }),
  limit: int(1, 100).default(50).meta({ description: 'Messages per page (1-100)', default: 50 }),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: 'Opaque keyset cursor from `next_cursor`' }),
});

const Message = z
  .object({
    id: z.string().meta({ example: 'wmsg_0123456789abcdef' }),
    endpointId: z.string(),
    webhookId: z.string().meta({ description: 'The `webhook-id` header the receiver got' }),
    type: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'WebhookMessage' });

const Attempt = z
  .object({
    attempt: z.number().int(),
    statusCode: z.number().int().nullable().meta({ description: 'null when no answer arrived' }),
    durationMs: z.number().int(),
    responseExcerpt: z
      .string()
      .nullable()
      .meta({ description: "The first 1,024 bytes of the receiver's answer" }),
    error: z.string().nullable(),
    nextAttemptAt: z.string().nullable().meta({ description: 'When the next attempt is due, if any' }),
    attemptedAt: z.string(),
  })
  .meta({ id: 'WebhookAttempt' });

const ListMessagesResponse = cursorPage(Message, 'ListWebhookMessagesResponse');

const MessageParams = z.object({
  id: z.string().regex(/^wmsg_[0-9a-f]{16}$/, 'must be a webhook message id'),
});

const messageView = (m: WebhookMessageRow) => ({
  id: m.id,
  endpointId: m.endpoint_id,
  webhookId: m.message_id,
  type: m.event_type,
  status: m.status,
  attempts: m.attempts,
  lastStatusCode: m.last_status_code,
  nextAttemptAt: isoOrNull(m.next_attempt_at),
  createdAt: iso(m.created_at),
  updatedAt: iso(m.updated_at),
});

const attemptView = (a: WebhookAttemptRow) => ({
  attempt: a.attempt,
  statusCode: a.status_code,
  durationMs: a.duration_ms,
  responseExcerpt: a.response_excerpt,
  error: a.error,
  nextAttemptAt: isoOrNull(a.next_attempt_at),
  attemptedAt: iso(a.attempted_at),
});

/** The delivery log: one message per (endpoint, webhook), its attempts; pruned by retention. */
export function webhookMessageRoutes(deps: DomainDeps & { temporal: Client; taskQueue: string }) {
  return [
    defineRoute({
      method: 'get',
      path: '/webhooks/messages',
      tag: TAG,
      summary: 'List webhook deliveries',
      description:
        'One row per message and endpoint, newest first, kept for `WEBHOOK_LOG_RETENTION_DAYS` (30 days). Cursor-paged like events: pass `next_cursor` as `cursor`.',
      query: ListMessagesQuery,
      responses: {
        200: {
          description: 'A page of messages',
          schema: ListMessagesResponse,
        },
      },
      handler: async (_ctx, { query, auth }) => {
        const page = await webhookMessagePage(deps, {
          operatorId: auth.operatorId,
          endpointId: query.endpoint,
          status: query.status,
          since: query.since,
          cursor: query.cursor,
          limit: query.limit,
        });
        return {
          status: 200,
          body: {
            success: true,
            data: page.rows.map(messageView),
            count: page.rows.length,
            has_more: page.hasMore,
            next_cursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/messages/:id/attempts',
      tag: TAG,
      summary: "A webhook message's delivery attempts",
      params: MessageParams,
      responses: { 200: { description: 'Oldest first', schema: ok(z.array(Attempt)) } },
      handler: async (_ctx, { params, auth }) => {
        const attempts = await webhookAttempts(deps, auth.operatorId, params.id);
        return { status: 200, body: { success: true, data: attempts.map(attemptView) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/messages/:id/resend',
      tag: TAG,
      summary: 'Resend a webhook message',
      description:
        'Delivers the logged message to its endpoint again, with the same `webhook-id` and body, signed now, retried like a first delivery; durable (a Temporal workflow). Asked again while a resend of it runs, it answers that run instead of sending twice. The endpoint must still exist and be enabled (400 VALIDATION_FAILED otherwise).',
      params: MessageParams,
      responses: {
        202: {
          description: 'The resend started (or was already running)',
          schema: ok(z.object({ id: z.string(), workflowId: z.string(), runId: z.string() })),
        },
      },
      handler: async (_ctx, { params, auth }) => {
        const run = await resendWebhookMessage(deps, auth.operatorId, params.id);
        return { status: 202, body: { success: true, data: { id: params.id, ...run } } };
      },
    }),
  ];
}
