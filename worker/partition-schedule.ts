import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule';
import type { maintainEventPartitions } from '../workflows';

/** One schedule per task queue, like retention's (worker/retention-schedule.ts). */
export const partitionScheduleId = (taskQueue: string): string => `event-partitions.${taskQueue}`;

function scheduleOptions(taskQueue: string) {
  return {
    // Daily at 02:47 UTC, half an hour before retention; a month's partition then exists about
    // three months (workflows/partitions.ts MONTHS_AHEAD) before its first event.
    spec: { calendars: [{ hour: 2, minute: 47 }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'maintainEventPartitions' as unknown as typeof maintainEventPartitions,
      workflowId: partitionScheduleId(taskQueue),
      taskQueue,
      args: [{}] as Parameters<typeof maintainEventPartitions>,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' as const },
  };
}

/**
 * Creates the event-partitions schedule, or brings an existing one to the current definition
 * (every worker calls this at start: idempotent and safe to race). `runNow` (the worker's
 * start) also triggers it once, so a stack that was down over a month's end has its partitions
 * without waiting for 02:47.
 */
export async function ensurePartitionSchedule(
  client: Client,
  taskQueue: string,
  { runNow = true }: { runNow?: boolean } = {},
): Promise<string> {
  const scheduleId = partitionScheduleId(taskQueue);
  await upsertSchedule(client, scheduleId, scheduleOptions(taskQueue));
  if (runNow) await client.schedule.getHandle(scheduleId).trigger();
  return scheduleId;
}
