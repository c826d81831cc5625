import type { Pool } from 'pg';
import { isEventIdClash } from '../db/events';
import { ensureEventPartitions, isMissingEventPartition } from '../db/partitions';

/** A clash is about n² / 2^57 for n events in a month; three draws in a row is never. */
const WRITE_ATTEMPTS = 3;

/**
 * Whether a statement recording events that failed whole (nothing written) is worth writing
 * again, after mending what made it fail: two events of one month drew the same id (the caller
 * draws new ones, core/ids.ts), or the month has no partition yet (made here:
 * core/db/partitions.ts, isMissingEventPartition).
 */
export async function writeEventsAgain(pool: Pool, err: unknown, attempt: number): Promise<boolean> {
  if (attempt >= WRITE_ATTEMPTS) return false;
  if (isEventIdClash(err)) return true;
  if (!isMissingEventPartition(err)) return false;
  await ensureEventPartitions(pool, 1);
  return true;
}
