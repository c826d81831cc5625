import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/** History event types (temporal.api.enums.v1.EventType) that Temporal Cloud bills as Actions. */
const E = {
  WORKFLOW_EXECUTION_STARTED: 1,
  ACTIVITY_TASK_SCHEDULED: 10,
  ACTIVITY_TASK_STARTED: 11,
  TIMER_STARTED: 17,
  MARKER_RECORDED: 25,
  WORKFLOW_EXECUTION_SIGNALED: 26,
  WORKFLOW_EXECUTION_CONTINUED_AS_NEW: 28,
  START_CHILD_WORKFLOW_EXECUTION_INITIATED: 29,
  SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: 37,
  UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 40,
} as const;

/**
 * Temporal Actions one workflow's history accounts for, by Temporal Cloud's published price
 * list: a workflow started by a client 1 (a child's start is billed to its parent, 2 for the
 * child), each activity attempt 1 (an activity 1, plus 1 per retry), a timer 1, a signal 1
 * (received or sent), a search-attribute upsert 1, a continue-as-new 1, local activities 1 per
 * workflow task that ran any. Counted from the events, so it is what the server recorded.
 */
export function actionsOf(history: History): number {
  const events = history.events ?? [];
  let actions = 0;
  const attempts = new Map<string, number>();
  const laTasks = new Set<string>();
  for (const e of events) {
    switch (e.eventType as number) {
      case E.WORKFLOW_EXECUTION_STARTED:
        if (!e.workflowExecutionStartedEventAttributes?.parentWorkflowExecution) actions += 1;
        break;
      case E.START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        actions += 2;
        break;
      case E.ACTIVITY_TASK_SCHEDULED:
        attempts.set(String(e.eventId), 1);
        break;
      case E.ACTIVITY_TASK_STARTED: {
        // The started event is written once, for the attempt that ended the activity.
        const a = e.activityTaskStartedEventAttributes;
        attempts.set(String(a?.scheduledEventId), Math.max(1, a?.attempt ?? 1));
        break;
      }
      case E.TIMER_STARTED:
      case E.WORKFLOW_EXECUTION_SIGNALED:
      case E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      case E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      case E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        actions += 1;
        break;
      case E.MARKER_RECORDED: {
        const m = e.markerRecordedEventAttributes;
        if (m?.markerName === 'core_local_activity') laTasks.add(String(m.workflowTaskCompletedEventId));
        break;
      }
    }
  }
  for (const n of attempts.values()) actions += n;
  return actions + laTasks.size;
}
