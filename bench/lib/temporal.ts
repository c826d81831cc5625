import type { Client } from '@temporalio/client';
import { timestampMs, type History } from '../../core/temporal/history-events';

/** Start times of the events' workflows matching a visibility query, by workflow ID. */
export async function startTimes(client: Client, query: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const wf of client.workflow.list({ query, pageSize: 1000 })) {
    if (wf.type === 'processEvent') out.set(wf.workflowId, wf.startTime.getTime());
  }
  return out;
}

/** Waits until visibility (eventually consistent) reports `expected` workflows for the query. */
export async function waitForCount(
  client: Client,
  query: string,
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < deadline) {
    n = (await client.workflow.count(query)).count;
    if (n >= expected) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return n;
}

const millis = timestampMs;

/**
 * When a waiting workflow resumed after its first signal: the server's time of the first
 * workflow task completed after the signal (its code ran on what the signal brought).
 */
export function resumedAfterSignal(history: History): number | undefined {
  return signalAndResume(history)?.resumed;
}

/** The first signal's time in history (the server accepted it) and the resume after it. */
export function signalAndResume(history: History): { signalled: number; resumed: number } | undefined {
  const events = history.events ?? [];
  const i = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
  if (i < 0) return undefined;
  const signalled = millis(events[i]!.eventTime);
  const resumed = millis(events.slice(i).find((e) => e.workflowTaskCompletedEventAttributes)?.eventTime);
  return signalled === undefined || resumed === undefined ? undefined : { signalled, resumed };
}
