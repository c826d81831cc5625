import type { Client } from '@temporalio/client';
import {
  closeStatus,
  decodeFirst,
  definitionRunOf,
  eachConcurrently,
  eventMs,
  type Payloads,
} from '../bench/lib/history-reading';
import type { WaitEvent } from '../workflows/types';

/** How the wait of one workflow was resolved, read from its history. */
export interface WaitHistory {
  workflowId: string;
  /** COMPLETED, FAILED, TIMED_OUT, CANCELED, TERMINATED, CONTINUED_AS_NEW, or RUNNING (no close event). */
  status: string;
  /** The definition's run in the workflow's result, when it completed. */
  run?: { status: string; result?: Record<string, unknown> };
  /** WorkflowExecutionSignaled per event key (waitEvent signals). */
  signalsPerKey: Map<string, number>;
  /** Keys of the matching events that came by signal, and by the wait's lookback pages. */
  bySignal: Set<string>;
  byLookback: Set<string>;
  /** Scheduled activities of the wait (retries are attempts of one scheduled activity); closeWait's local-activity markers. */
  openWaits: number;
  closeWaits: number;
  /** When the workflow acted on the outcome: its closeWait ran (ms since epoch). */
  resolvedAt?: number;
}

/**
 * Reads one workflow's history: its signals per event key, what its wait's lookback pages
 * returned, its wait activities, and its result. `matches` says which events satisfy the wait.
 */
export async function readWaitHistory(
  client: Client,
  workflowId: string,
  definition: string,
  matches: (e: WaitEvent) => boolean,
): Promise<WaitHistory> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const h: WaitHistory = {
    workflowId,
    status: 'RUNNING',
    signalsPerKey: new Map(),
    bySignal: new Set(),
    byLookback: new Set(),
    openWaits: 0,
    closeWaits: 0,
  };
  const scheduled = new Map<number, string>();
  for (const e of history.events ?? []) {
    const signaled = e.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName === 'waitEvent') {
      const ev = decodeFirst<WaitEvent>(signaled.input);
      if (ev) {
        h.signalsPerKey.set(ev.key, (h.signalsPerKey.get(ev.key) ?? 0) + 1);
        if (matches(ev)) h.bySignal.add(ev.key);
      }
    }
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const name = sched.activityType?.name ?? '';
      scheduled.set(Number(e.eventId), name);
      if (name === 'openWait') h.openWaits++;
      if (name === 'closeWait') {
        h.closeWaits++;
        h.resolvedAt ??= eventMs(e.eventTime);
      }
    }
    // closeWait runs as a local activity: its marker names it.
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = decodeFirst<{ activity_type?: string }>(marker.details?.data as Payloads);
      if (data?.activity_type === 'closeWait') {
        h.closeWaits++;
        h.resolvedAt ??= eventMs(e.eventTime);
      }
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const name = scheduled.get(Number(done.scheduledEventId));
      if (name === 'openWait' || name === 'readWaitLookback') {
        const page = decodeFirst<{ events: WaitEvent[] }>(done.result);
        for (const ev of page?.events ?? []) if (matches(ev)) h.byLookback.add(ev.key);
      }
    }
    h.status = closeStatus(e) ?? h.status;
    h.run = definitionRunOf(e, definition) ?? h.run;
  }
  return h;
}

/** readWaitHistory for many workflows, `concurrency` at a time. */
export async function readWaitHistories(
  client: Client,
  workflowIds: string[],
  definition: string,
  matches: (e: WaitEvent) => boolean,
  concurrency = 16,
): Promise<WaitHistory[]> {
  return eachConcurrently(workflowIds, concurrency, (id) => readWaitHistory(client, id, definition, matches));
}
