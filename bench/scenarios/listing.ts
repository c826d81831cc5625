import { encodeCursor } from '../../core/domain/events';
import { authHeaders, autocannon } from '../lib/autocannon';
import { fmt, ratio, type BenchContext } from '../lib/context';
import { seedEvents } from '../lib/seed';
import { createPlayer } from '../lib/stack';

const DEPTH = 1000;

/** p99 of GET /events for an entity with many events: first page, deep cursor, deep offset. */
export async function listing(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 100_000 : 1_000_000;
  // 1,000 pages deep must stay inside the data: 100 a page (the default) for 1M, 50 for 100k.
  const limit = ctx.quick ? 50 : 100;
  const player = 'listing-player';
  await createPlayer(ctx.api.url!, ctx.op, player);
  const started = Date.now();
  await seedEvents(ctx.s.pool, { operatorId: ctx.op.operatorId, externalId: player, count, outbox: false });
  // All but the newest half-depth move to the archive, as the retention sweep would: the deep
  // pages (cursor and offset) read archived events after crossing from the hot table.
  const hot = (DEPTH * limit) / 2;
  // The archive's month partitions are made when retention first needs them (migration 019).
  await ctx.s.pool.query(
    `select ensure_month_partition('events_archive', t) from (values (now() - interval '1 day'), (now())) v(t)`,
  );
  const { rowCount: archived } = await ctx.s.pool.query(
    `with moved as (
       delete from events
        where operator_id = $1 and external_id = $2
          and created_at < (select created_at from events where operator_id = $1 and external_id = $2
                             order by created_at desc, id desc offset $3 limit 1)
       returning id, operator_id, external_id, event_type, data, created_at
     )
     insert into events_archive (id, operator_id, external_id, event_type, data, created_at)
     select id, operator_id, external_id, event_type, data, created_at from moved`,
    [ctx.op.operatorId, player, hot - 1],
  );
  await ctx.s.pool.query('vacuum analyze events');
  await ctx.s.pool.query('analyze events_archive');
  ctx.log(
    `listing: ${fmt(count)} events inserted (generate_series), ${fmt(archived ?? 0)} of them archived, in ${fmt((Date.now() - started) / 1000, 1)} s`,
  );

  const { rows } = await ctx.s.pool.query<{ id: string; cursor_ts: string }>(
    `select id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from events_archive where operator_id = $1 and external_id = $2
      order by created_at desc, id desc offset $3 limit 1`,
    [ctx.op.operatorId, player, DEPTH * limit - hot - 1],
  );
  const cursor = encodeCursor(rows[0]!);
  const base = `${ctx.api.url}/operator-data-api/entities/${player}/events?limit=${limit}`;
  const get = (url: string) =>
    autocannon({ url, headers: authHeaders(ctx.op.apiKey), connections: 4, durationS: ctx.quick ? 3 : 8 });
  await get(base); // warm-up
  const first = await get(base);
  const viaCursor = await get(`${base}&cursor=${cursor}`);
  const viaOffset = await get(`${base}&offset=${DEPTH * limit}`);
  ctx.log(
    `listing p99: first page ${first.p99} ms, cursor at page ${DEPTH + 1} ${viaCursor.p99} ms, offset ${viaOffset.p99} ms`,
  );
  const label = `${fmt(count)} events (the newest ${fmt(hot)} hot, the rest archived), ${limit}/page, 4 conn`;
  ctx.rows.push({
    benchmark: 'Listing',
    metric: `first page p99 (${label})`,
    measured: `${first.p99} ms (${fmt(first.rps)} req/s)`,
    baseline: '—',
    ratio: '—',
    target: '—',
  });
  ctx.rows.push({
    benchmark: 'Listing',
    metric: `page ${fmt(DEPTH + 1)} via cursor, p99`,
    measured: `${viaCursor.p99} ms (${fmt(viaCursor.rps)} req/s)`,
    baseline: `${first.p99} ms first page`,
    ratio: ratio(viaCursor.p99, first.p99),
    target: '≤ 1.5×',
    pass: viaCursor.p99 <= 1.5 * first.p99 && viaCursor.non2xx === 0,
  });
  ctx.rows.push({
    benchmark: 'Listing',
    metric: `page ${fmt(DEPTH + 1)} via offset (${fmt(DEPTH * limit)}), p99`,
    measured: `${viaOffset.p99} ms (${fmt(viaOffset.rps)} req/s)`,
    baseline: `${first.p99} ms first page`,
    ratio: ratio(viaOffset.p99, first.p99),
    target: '— (why cursors)',
  });
}
