import { startOrJoin } from '../temporal/start-or-join';
import type { Client } from '@temporalio/client';
import type { WebhookMessage } from '../../activities/webhooks/activities';
import { findWebhookEndpoint } from '../db/webhooks';
import {
  findWebhookMessage,
  listWebhookAttempts,
  listWebhookMessages,
  type WebhookAttemptRow,
  type WebhookMessageRow,
  type WebhookMessageStatus,
} from '../db/webhook-log';
import { apiError } from '../errors';
import type { DomainDeps } from './deps';
import { encodeKeysetCursor, parseKeysetCursor, type KeysetCursor } from './keyset-cursor';

const encodeCursor = encodeKeysetCursor;

function decodeCursor(cursor: string): KeysetCursor {
  const c = parseKeysetCursor(cursor, /^wmsg_[0-9a-f]{16}$/);
  if (c) return c;
  throw apiError({
    code: 'VALIDATION_FAILED',
    message: 'Invalid query: cursor: is not a cursor from next_cursor',
    details: [{ field: 'cursor', reason: 'is not a cursor from next_cursor' }],
  });
}

export interface WebhookMessagePage {
  rows: WebhookMessageRow[];
  hasMore: boolean;
  nextCursor: string | null;
}

export async function webhookMessagePage(
  deps: DomainDeps,
  q: {
    operatorId: string;
    endpointId?: string;
    status?: WebhookMessageStatus;
    since?: Date;
    cursor?: string;
    limit: number;
  },
): Promise<WebhookMessagePage> {
  const rows = await listWebhookMessages(deps.pool, {
    ...q,
    before: q.cursor ? decodeCursor(q.cursor) : undefined,
    limit: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  const hasMore = rows.length > q.limit;
  const last = page[page.length - 1];
  return { rows: page, hasMore, nextCursor: hasMore && last ? encodeCursor(last) : null };
}

/** Another operator's message reads as absent: 404, never its data. */
export async function webhookAttempts(
  deps: DomainDeps,
  operatorId: string,
  id: string,
): Promise<WebhookAttemptRow[]> {
  const attempts = await listWebhookAttempts(deps.pool, operatorId, id);
  if (!attempts) throw apiError({ code: 'NOT_FOUND', message: `No webhook message ${id}` });
  return attempts;
}

/**
 * Delivers a logged message to its endpoint again, durably (workflow `resendWebhookMessage`,
 * ID `webhook-resend:<id>`): asked again while that runs, it answers the same run rather than
 * sending twice. The endpoint must still exist and be enabled.
 */
export async function resendWebhookMessage(
  deps: DomainDeps & { temporal: Client; taskQueue: string },
  operatorId: string,
  id: string,
): Promise<{ workflowId: string; runId: string }> {
  const logged = await findWebhookMessage(deps.pool, operatorId, id);
  if (!logged) throw apiError({ code: 'NOT_FOUND', message: `No webhook message ${id}` });
  const endpoint = await findWebhookEndpoint(deps.pool, operatorId, logged.endpointId);
  if (!endpoint?.enabled) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `The endpoint of webhook message ${id} is ${endpoint ? 'disabled' : 'deleted'}; nothing was sent`,
      details: [{ field: 'id', reason: `endpoint ${endpoint ? 'disabled' : 'deleted'}` }],
    });
  }
  return startOrJoin(
    deps.temporal,
    deps.taskQueue,
    'resendWebhookMessage',
    `webhook-resend:${id}`,
    [
      {
        operatorId,
        endpointId: logged.endpointId,
        messageId: logged.messageId,
        message: logged.payload as WebhookMessage,
      },
    ],
    operatorId,
  );
}
