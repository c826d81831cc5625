import { randomBytes } from 'node:crypto';
import type { Queryable } from './pool';

export interface WebhookEndpoint {
  operatorId: string;
  url: string;
  secret: string;
  eventFilter: string[];
}

/** Secrets follow the Standard Webhooks form: `whsec_` + base64 of the key bytes. */
export const newWebhookSecret = (): string => 'whsec_' + randomBytes(24).toString('base64');

export async function upsertWebhookEndpoint(
  db: Queryable,
  w: { operatorId: string; url: string; secret?: string; eventFilter: string[] },
): Promise<WebhookEndpoint> {
  const { rows } = await db.query<{
    operator_id: string;
    url: string;
    secret: string;
    event_filter: string[];
  }>(
    `insert into webhook_endpoints (operator_id, url, secret, event_filter) values ($1, $2, $3, $4)
     on conflict (operator_id) do update
        set url = excluded.url, secret = excluded.secret, event_filter = excluded.event_filter, updated_at = now()
     returning operator_id, url, secret, event_filter`,
    [w.operatorId, w.url, w.secret ?? newWebhookSecret(), w.eventFilter],
  );
  const r = rows[0]!;
  return { operatorId: r.operator_id, url: r.url, secret: r.secret, eventFilter: r.event_filter };
}

export async function getWebhookEndpoint(
  db: Queryable,
  operatorId: string,
): Promise<WebhookEndpoint | undefined> {
  const { rows } = await db.query<{
    operator_id: string;
    url: string;
    secret: string;
    event_filter: string[];
  }>('select operator_id, url, secret, event_filter from webhook_endpoints where operator_id = $1', [
    operatorId,
  ]);
  const r = rows[0];
  return r
    ? { operatorId: r.operator_id, url: r.url, secret: r.secret, eventFilter: r.event_filter }
    : undefined;
}
