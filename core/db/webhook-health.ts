import type { Queryable } from './pool';
import { COLUMNS, fromRow, type Row, type WebhookEndpoint } from './webhooks';

/** A delivery succeeded: the endpoint is not failing (any more). */
export async function markEndpointDelivered(db: Queryable, id: string): Promise<void> {
  await db.query(
    'update webhook_endpoints set failing_since = null where id = $1 and failing_since is not null',
    [id],
  );
}

/**
 * A delivery gave up: the endpoint has been failing since `since` at the latest. Once it has
 * been failing for `disableAfterMs`, it is disabled (reason 'failing'); `disabled` says whether
 * this call did it (so the operator is told once).
 */
export async function markEndpointFailing(
  db: Queryable,
  id: string,
  since: Date,
  disableAfterMs: number,
): Promise<{ disabled: boolean; endpoint: WebhookEndpoint } | undefined> {
  const { rows } = await db.query<Row & { was_enabled: boolean }>(
    `with before as (select id, enabled from webhook_endpoints where id = $1 for update),
          marked as (
            select id, coalesce(w.failing_since, $2::timestamptz) as failing
              from webhook_endpoints w where id = $1),
          due as (
            select id, failing, failing <= now() - make_interval(secs => $3::double precision / 1000) as off
              from marked)
     update webhook_endpoints w
        set failing_since = due.failing,
            enabled = w.enabled and not due.off,
            disabled_reason = case when w.enabled and due.off then 'failing' else w.disabled_reason end,
            updated_at = case when w.enabled and due.off then now() else w.updated_at end
       from due, before
      where w.id = due.id and before.id = w.id
     returning ${COLUMNS.replace(/\b(\w+)\b/g, 'w.$1')}, before.enabled as was_enabled`,
    [id, since, disableAfterMs],
  );
  const r = rows[0];
  if (!r) return undefined;
  return { disabled: r.was_enabled && !r.enabled, endpoint: fromRow(r) };
}
