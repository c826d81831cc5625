import {
  listWebhookAttempts,
  listWebhookMessages,
  type WebhookAttemptRow,
  type WebhookMessageRow,
  type WebhookMessageStatus,
} from '../db/webhook-log';
import { apiError } from '../errors';
import type { DomainDeps } from './deps';

interface Cursor {
  t: string;
  i: string;
}

const encodeCursor = (row: WebhookMessageRow): string =>
  Buffer.from(JSON.stringify({ t: row.cursor_ts, i: row.id } satisfies Cursor)).toString('base64url');

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.t === 'string' && !Number.isNaN(Date.parse(c.t)) && /^wmsg_[0-9a-f]{16}$/.test(c.i ?? '')) {
      return { t: c.t, i: c.i! };
    }
  } catch {
    // fall through to the error below
  }
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
