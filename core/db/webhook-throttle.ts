import type { Queryable } from './pool';

/**
 * Takes one delivery slot of the endpoint's current one-second window (a fixed-window counter
 * shared by every worker). Answers undefined when the delivery may go now, else the
 * milliseconds until the next window, when the caller tries again.
 */
export async function takeDeliverySlot(
  db: Queryable,
  endpointId: string,
  perSecond: number,
): Promise<number | undefined> {
  const { rows } = await db.query<{ sent: number; wait_ms: number }>(
    `insert into webhook_endpoint_rate (endpoint_id, window_start, sent)
     values ($1, date_trunc('second', clock_timestamp()), 1)
     on conflict (endpoint_id) do update
        set sent = case when webhook_endpoint_rate.window_start = excluded.window_start
                        then webhook_endpoint_rate.sent + 1 else 1 end,
            window_start = excluded.window_start
     returning sent,
               ceil(extract(epoch from (window_start + interval '1 second' - clock_timestamp())) * 1000)::int as wait_ms`,
    [endpointId],
  );
  const r = rows[0]!;
  return r.sent <= perSecond ? undefined : Math.max(r.wait_ms, 1);
}
