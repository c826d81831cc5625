import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { FailedDefinitions } from '../../workflows/search-attributes';
import { timestampMs, type HistoryEvent } from './history-events';

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];
type Failure = NonNullable<PendingActivity['lastFailure']>;

/** Why something failed, as an operator may read it: the message and the failure's type. */
export interface FailureSummary {
  message: string;
  type?: string;
}

/** How one definition's run in a workflow stands. */
export type DefinitionState =
  | {
      definition: string;
      status: 'running';
      /** The activity it waits on, when one is scheduled or retrying. */
      activity?: string;
      /** That activity's attempt (1 on the first try). */
      attempt?: number;
      /** Why its previous attempt failed, while it is retrying. */
      lastError?: FailureSummary;
      /** When its next attempt starts (ISO), while it is retrying. */
      nextAttemptAt?: string;
    }
  | {
      definition: string;
      status: 'waiting';
      /** What it waits for, in words (the wait's label). */
      waitingFor: string;
      events: string[];
      deadline: string | null;
      since: string;
    }
  | { definition: string; status: 'completed' }
  | { definition: string; status: 'failed'; error: FailureSummary }
  | { definition: string; status: 'cancelled'; cancelledBy?: CancelledBy };

/** The later event that ended a definition (a `cancelOn` event, the erasure). */
export interface CancelledBy {
  internalEvent: string;
  eventId: string | null;
  at: string;
}

// Long messages (a provider's HTML error page) are cut: this is a status line, not a log.
const MAX_MESSAGE = 500;

export function failureSummary(f: Failure | null | undefined): FailureSummary {
  const message = (f?.message || 'failed').slice(0, MAX_MESSAGE);
  const type = f?.applicationFailureInfo?.type || (f?.timeoutFailureInfo ? 'ActivityTimeout' : undefined);
  return type ? { message, type } : { message };
}

/**
 * Which definition an activity serves, from its summary: the definition's name, or
 * `<name>: <what>` (`aml-threshold: webhook alert.aml_threshold`), as process-event.ts labels them.
 */
function definitionOf(summary: unknown, plan: string[]): string | undefined {
  if (typeof summary !== 'string') return undefined;
  return plan.find((name) => summary === name || summary.startsWith(`${name}:`));
}

interface ActivityTrack {
  definition: string | undefined;
  activity: string;
  /** Index in history of the event that closed it; undefined while it is open. */
  closedAt?: number;
  failure?: FailureSummary;
}

interface Scan {
  byActivityId: Map<string, ActivityTrack>;
  tracks: ActivityTrack[];
  /** Index of the last completed workflow task: what the workflow code has seen so far. */
  lastTaskDone: number;
  failedDefinitions: string[];
}

function scan(events: HistoryEvent[], plan: string[]): Scan {
  const byScheduled = new Map<string, ActivityTrack>();
  const byActivityId = new Map<string, ActivityTrack>();
  let lastTaskDone = -1;
  let failedDefinitions: string[] = [];
  const close = (scheduledEventId: unknown, at: number, failure?: FailureSummary) => {
    const track = byScheduled.get(String(scheduledEventId));
    if (track) Object.assign(track, { closedAt: at }, failure ? { failure } : {});
  };
  events.forEach((e, i) => {
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const summary = e.userMetadata?.summary
        ? defaultPayloadConverter.fromPayload(e.userMetadata.summary)
        : undefined;
      const track = { definition: definitionOf(summary, plan), activity: a.activityType?.name ?? '' };
      byScheduled.set(String(e.eventId), track);
      byActivityId.set(a.activityId ?? '', track);
    } else if (e.activityTaskCompletedEventAttributes) {
      close(e.activityTaskCompletedEventAttributes.scheduledEventId, i);
    } else if (e.activityTaskFailedEventAttributes) {
      const a = e.activityTaskFailedEventAttributes;
      close(a.scheduledEventId, i, failureSummary(a.failure));
    } else if (e.activityTaskTimedOutEventAttributes) {
      const a = e.activityTaskTimedOutEventAttributes;
      close(a.scheduledEventId, i, failureSummary(a.failure));
    } else if (e.activityTaskCanceledEventAttributes) {
      close(e.activityTaskCanceledEventAttributes.scheduledEventId, i, { message: 'activity cancelled' });
    } else if (e.workflowTaskCompletedEventAttributes) {
      lastTaskDone = i;
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      // Read here, not from describe: then the failures and the history are of the same moment.
      const field =
        e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields?.[
          FailedDefinitions.name
        ];
      if (field) failedDefinitions = defaultPayloadConverter.fromPayload<string[]>(field) ?? [];
    }
  });
  return { byActivityId, tracks: [...byScheduled.values()], lastTaskDone, failedDefinitions };
}

function timestampToDate(ts: PendingActivity['nextAttemptScheduleTime']) {
  const ms = timestampMs(ts);
  return ms === undefined ? undefined : new Date(ms);
}

/** The retrying (or else the latest) pending activity of a definition, for its running state. */
function retryInfo(definition: string, pending: PendingActivity[], s: Scan) {
  const mine = pending
    .filter((p) => s.byActivityId.get(p.activityId ?? '')?.definition === definition)
    .sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0));
  const p = mine[0];
  if (!p) return {};
  const next = timestampToDate(p.nextAttemptScheduleTime);
  return {
    activity: p.activityType?.name ?? undefined,
    attempt: p.attempt ?? undefined,
    ...(p.lastFailure ? { lastError: failureSummary(p.lastFailure) } : {}),
    ...(next ? { nextAttemptAt: next.toISOString() } : {}),
  };
}

/**
 * Each planned definition's state, read from a workflow's history (and its pending activities)
 * rather than its result: for a running workflow, or a closed one that has no result
 * (terminated, timed out). A definition only awaits activities (definition.ts), so once every
 * one of its activities closed before the last completed workflow task, its code has returned
 * or thrown: it failed if `FailedDefinitions` names it (upserted in that same task), else it
 * completed. Otherwise it is still running, or, in a workflow that `closedAs` something other
 * than completed, it never finished.
 */
export function outcomesFromHistory(
  events: HistoryEvent[],
  plan: string[],
  pending: PendingActivity[],
  closedAs?: string,
): DefinitionState[] {
  const s = scan(events, plan);
  return plan.map((definition): DefinitionState => {
    const mine = s.tracks.filter((t) => t.definition === definition);
    if (s.failedDefinitions.includes(definition)) {
      const last = mine.filter((t) => t.failure).sort((a, b) => (b.closedAt ?? 0) - (a.closedAt ?? 0))[0];
      return { definition, status: 'failed', error: last?.failure ?? { message: 'failed' } };
    }
    const settled =
      s.lastTaskDone >= 0 && mine.every((t) => t.closedAt !== undefined && t.closedAt < s.lastTaskDone);
    if (settled) return { definition, status: 'completed' };
    if (closedAs) {
      return { definition, status: 'failed', error: { message: `workflow ${closedAs}`, type: closedAs } };
    }
    return { definition, status: 'running', ...retryInfo(definition, pending, s) };
  });
}
