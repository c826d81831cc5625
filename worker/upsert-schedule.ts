import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';

/**
 * Creates a schedule, or brings an existing one to the current definition: every worker calls
 * this at start for each of its schedules (retention, event partitions), so it is idempotent and
 * safe to race.
 */
export async function upsertSchedule(
  client: Client,
  scheduleId: string,
  options: Omit<ScheduleOptions, 'scheduleId'>,
): Promise<void> {
  try {
    await client.schedule.create({ scheduleId, ...options });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning) && (err as Error).name !== 'ScheduleAlreadyRunning')
      throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, ...options }));
  }
}
