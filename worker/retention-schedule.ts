import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule';
import type { applyRetention } from '../workflows';

/** One schedule per task queue (tests share a Temporal server, each on its own queue). */
export const retentionScheduleId = (taskQueue: string): string => `retention.${taskQueue}`;

function scheduleOptions(taskQueue: string) {
  return {
    // Daily at 03:17 UTC: off the hour, when most schedules everywhere fire.
    spec: { calendars: [{ hour: 3, minute: 17 }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'applyRetention' as unknown as typeof applyRetention,
      workflowId: retentionScheduleId(taskQueue),
      taskQueue,
      args: [{}] as Parameters<typeof applyRetention>,
    },
    // A run that takes longer than a day is not doubled up; the next one picks up the rest.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' as const },
  };
}

/**
 * Creates the retention schedule, or brings an existing one to the current definition:
 * every worker calls this at start, so it must be idempotent and safe to race.
 */
export async function ensureRetentionSchedule(client: Client, taskQueue: string): Promise<string> {
  const scheduleId = retentionScheduleId(taskQueue);
  await upsertSchedule(client, scheduleId, scheduleOptions(taskQueue));
  return scheduleId;
}
