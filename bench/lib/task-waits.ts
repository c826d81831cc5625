import type { Client } from '@temporalio/client';
import { eventWorkflowId } from '../../core/ids';
import { timestampMs, type HistoryEvent } from '../../core/temporal/history-events';

/** Where a set of workflows' time went, as means over them (seconds), from their histories. */
export interface TaskWaits {
  workflows: number;
  /** The first workflow task, scheduled → started: waiting on the shared queue for a poll. */
  firstTask: number;
  /** Every later workflow task together, scheduled → started (the worker's sticky queue, or the shared one without a cache). */
  laterTasks: number;
  /** Later workflow tasks per workflow. */
  laterTaskCount: number;
  /** Every workflow task together, started → completed: in the worker. */
  inWorker: number;
  /** Every activity task together, scheduled → started. */
  activityWait: number;
  /** Workflow start → close. */
  total: number;
}

const ms = (t: HistoryEvent['eventTime']): number => timestampMs(t) ?? NaN;

function one(events: HistoryEvent[]) {
  const at = new Map<string, number>();
  const w = { first: 0, later: 0, laterCount: 0, inWorker: 0, activity: 0, total: 0 };
  let firstSeen = false;
  for (const e of events) {
    const t = ms(e.eventTime);
    at.set(String(e.eventId), t);
    const started = e.workflowTaskStartedEventAttributes;
    if (started) {
      const wait = t - (at.get(String(started.scheduledEventId)) ?? t);
      if (!firstSeen) w.first += wait;
      else {
        w.later += wait;
        w.laterCount++;
      }
      firstSeen = true;
    }
    const done = e.workflowTaskCompletedEventAttributes;
    if (done) w.inWorker += t - (at.get(String(done.startedEventId)) ?? t);
    const act = e.activityTaskStartedEventAttributes;
    if (act) w.activity += t - (at.get(String(act.scheduledEventId)) ?? t);
  }
  w.total = ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
  return w;
}

/** The fan-out workflows of the given events (eventType's), read once they have closed. */
export async function taskWaits(client: Client, eventType: string, eventIds: string[]): Promise<TaskWaits> {
  const sum = { first: 0, later: 0, laterCount: 0, inWorker: 0, activity: 0, total: 0 };
  let n = 0;
  for (const id of eventIds) {
    const history = await client.workflow.getHandle(eventWorkflowId(eventType, id)).fetchHistory();
    const w = one(history.events ?? []);
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += w[k];
    n++;
  }
  const mean = (v: number) => (n ? v / n / 1000 : NaN);
  return {
    workflows: n,
    firstTask: mean(sum.first),
    laterTasks: mean(sum.later),
    laterTaskCount: n ? sum.laterCount / n : NaN,
    inWorker: mean(sum.inWorker),
    activityWait: mean(sum.activity),
    total: mean(sum.total),
  };
}

export function describeTaskWaits(w: TaskWaits): string {
  const s = (v: number) => `${v.toFixed(2)} s`;
  return (
    `${w.workflows} workflows, means: first workflow task waited ${s(w.firstTask)}, ` +
    `${w.laterTaskCount.toFixed(1)} later tasks waited ${s(w.laterTasks)} together, ` +
    `tasks in the worker ${s(w.inWorker)}, activity tasks waited ${s(w.activityWait)}, start → close ${s(w.total)}`
  );
}
