import type { Queryable } from './pool';

/**
 * Leases up to `chunk` requests of an operator's window budget, never past `limit`.
 * Returns how many were granted (0 once the window is spent). In SET, every right-hand
 * side sees the old row, so `last_grant` records exactly what this statement added.
 */
export async function leaseBudget(
  db: Queryable,
  l: { operatorId: string; windowStart: Date; chunk: number; limit: number },
): Promise<number> {
  const { rows } = await db.query<{ last_grant: number }>(
    `insert into rate_limit_windows (operator_id, window_start, count, last_grant)
     values ($1, $2, least($3::int, $4::int), least($3::int, $4::int))
     on conflict (operator_id, window_start) do update
        set count = rate_limit_windows.count + least($3::int, $4::int - rate_limit_windows.count),
            last_grant = least($3::int, $4::int - rate_limit_windows.count)
      where rate_limit_windows.count < $4::int
     returning last_grant`,
    [l.operatorId, l.windowStart, l.chunk, l.limit],
  );
  return rows[0]?.last_grant ?? 0;
}

export async function deleteOldWindows(db: Queryable, before: Date): Promise<void> {
  await db.query('delete from rate_limit_windows where window_start < $1', [before]);
}
