import { findProviderConnectionById, type ProviderConnectionRow } from '../db/provider-connections';
import { withTransaction } from '../db/pool';
import {
  listProviderDeliveries,
  recordProviderDelivery,
  type DeliveryOutcome,
  type ListedDelivery,
} from '../db/provider-inbox';
import { apiError } from '../errors';
import type { FanoutDispatcher } from '../fanout/dispatcher';
import { readProviderDelivery } from '../kyc-providers/webhook-payloads';
import { verifyProviderSignature, type KycProviderName } from '../security/provider-signatures';
import { encodeKeysetCursor, parseKeysetCursor } from './keyset-cursor';
import { openConnection, type ConnectionDeps } from './provider-connections';

/**
 * Inbound provider webhooks: `POST /providers/:provider/webhooks/:connectionId`, authenticated
 * by the provider's signature alone. The steps, cheapest first, so that what an unauthenticated
 * caller can make us do is bounded before any costly work: find the connection (one indexed
 * read; 404, the same for an unknown id and a provider that is not the connection's, so a probe
 * learns nothing more), then the caller bounds rate (per connection, 429) and size (413), and
 * only then are the connection's secrets opened and the signature over the raw bytes checked
 * (401, nothing recorded), and after that is the body parsed (400) and recorded.
 */
export async function requireWebhookConnection(
  deps: Pick<ConnectionDeps, 'pool'>,
  provider: KycProviderName,
  connectionId: string,
): Promise<ProviderConnectionRow> {
  const row = await findProviderConnectionById(deps.pool, connectionId);
  if (!row || row.provider !== provider) {
    throw apiError({ code: 'NOT_FOUND', message: 'No such provider webhook receiver' });
  }
  return row;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function acceptProviderDelivery(
  deps: ConnectionDeps & { dispatcher: Pick<FanoutDispatcher, 'dispatch'> },
  row: ProviderConnectionRow,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  now: Date,
): Promise<{ deliveryId: string; duplicate: boolean; outcome: DeliveryOutcome }> {
  const connection = openConnection(deps.pii, row, now);
  if (!verifyProviderSignature(connection.provider, headers, rawBody, connection.webhookSecrets)) {
    throw apiError({ code: 'UNAUTHORIZED', message: 'Missing or invalid webhook signature' });
  }
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(rawBody));
  } catch {
    throw apiError({ code: 'VALIDATION_FAILED', message: 'Request body is not valid JSON' });
  }
  const read = readProviderDelivery(connection.provider, body);
  if (!read.ok) throw apiError({ code: 'VALIDATION_FAILED', message: `Invalid body: ${read.problem}` });
  const { delivery, duplicate, start } = await withTransaction(deps.pool, (tx) =>
    recordProviderDelivery(tx, {
      ...read.delivery,
      operatorId: connection.operatorId,
      connectionId: connection.id,
      provider: connection.provider,
    }),
  );
  // After commit, like every other write: the event's workflow starts and the waits it settles
  // are signalled at once; the outbox relay does both later if this does not.
  if (start) deps.dispatcher.dispatch(start);
  return { deliveryId: delivery.id, duplicate, outcome: delivery.outcome };
}

export interface ProviderInboxPage {
  rows: ListedDelivery[];
  hasMore: boolean;
  nextCursor: string | null;
}

/** The operator's provider deliveries, newest first, keyset-paged like the webhook log. */
export async function providerInboxPage(
  deps: ConnectionDeps,
  q: { operatorId: string; cursor?: string; limit: number },
): Promise<ProviderInboxPage> {
  const after = q.cursor ? parseKeysetCursor(q.cursor, /^pwd_[0-9a-f]{16}$/) : undefined;
  if (q.cursor && !after) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: 'Invalid query: cursor: is not a cursor from next_cursor',
      details: [{ field: 'cursor', reason: 'is not a cursor from next_cursor' }],
    });
  }
  const rows = await listProviderDeliveries(deps.pool, {
    operatorId: q.operatorId,
    after,
    limit: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  const hasMore = rows.length > q.limit;
  return {
    rows: page,
    hasMore,
    nextCursor: hasMore && last ? encodeKeysetCursor({ cursor_ts: last.cursorTs, id: last.id }) : null,
  };
}
