import { proxyActivities, setWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { ensureEventPartitions } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 10 },
});

/** How far ahead events partitions exist: a schedule that stops for this long stops recording. */
export const MONTHS_AHEAD = 3;

/**
 * Creates the events partitions of this month and the next MONTHS_AHEAD (migration 018's
 * ensure_event_partitions), run daily by the `event-partitions` schedule
 * (worker/partition-schedule.ts): a month exists about three months before its first event.
 */
export async function maintainEventPartitions(
  input: { monthsAhead?: number } = {},
): Promise<{ created: number }> {
  return { created: await ensureEventPartitions({ monthsAhead: input.monthsAhead ?? MONTHS_AHEAD }) };
}

// Pinned: one short activity; nothing to patch.
setWorkflowOptions({ versioningBehavior: 'PINNED' }, maintainEventPartitions);
