import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WaitEvent } from '../workflows/types';

// The proto types as the client hands them out (@temporalio/proto is not a dependency of ours).
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
type Payloads = { payloads?: Array<Parameters<typeof defaultPayloadConverter.fromPayload>[0]> | null } | null;

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

const ms = (t: HistoryEvent['eventTime']): number | undefined =>
  t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined;

function decode<T>(p: Payloads | undefined): T | undefined {
  const first = p?.payloads?.[0];
  return first ? defaultPayloadConverter.fromPayload<T>(first) : undefined;
}

const CLOSED: Array<[keyof HistoryEvent, string]> = [
  ['workflowExecutionCompletedEventAttributes', 'COMPLETED'],
  ['workflowExecutionFailedEventAttributes', 'FAILED'],
  ['workflowExecutionTimedOutEventAttributes', 'TIMED_OUT'],
  ['workflowExecutionCanceledEventAttributes', 'CANCELED'],
  ['workflowExecutionTerminatedEventAttributes', 'TERMINATED'],
  ['workflowExecutionContinuedAsNewEventAttributes', 'CONTINUED_AS_NEW'],
];

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
      const ev = decode<WaitEvent>(signaled.input);
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
        h.resolvedAt ??= ms(e.eventTime);
      }
    }
    // closeWait runs as a local activity: its marker names it.
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = decode<{ activity_type?: string }>(marker.details?.data as Payloads);
      if (data?.activity_type === 'closeWait') {
        h.closeWaits++;
        h.resolvedAt ??= ms(e.eventTime);
      }
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const name = scheduled.get(Number(done.scheduledEventId));
      if (name === 'openWait' || name === 'readWaitLookback') {
        const page = decode<{ events: WaitEvent[] }>(done.result);
        for (const ev of page?.events ?? []) if (matches(ev)) h.byLookback.add(ev.key);
      }
    }
    for (const [attr, status] of CLOSED) if (e[attr]) h.status = status;
    const completed = e.workflowExecutionCompletedEventAttributes;
    if (completed) {
      const result = decode<{
        runs: Array<{ definition: string; status: string; result?: Record<string, unknown> }>;
      }>(completed.result);
      const run = result?.runs.find((r) => r.definition === definition);
      if (run) h.run = { status: run.status, result: run.result };
    }
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
  const out: WaitHistory[] = [];
  let next = 0;
  const worker = async () => {
    while (next < workflowIds.length) {
      const id = workflowIds[next++]!;
      out.push(await readWaitHistory(client, id, definition, matches));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
