import { decodeFirst, timestampMs, type HistoryEvent } from '../../core/temporal/history-events';

export {
  decodeFirst,
  type History,
  type HistoryEvent,
  type Payloads,
} from '../../core/temporal/history-events';

/**
 * What the benchmarks and the fault suite read from Temporal histories alike (the types and
 * payload decoding are core/temporal/history-events.ts): event times, how a workflow closed,
 * what its definition's run returned, and reading many at once.
 */

/** An event's server time, ms since epoch. */
export const eventMs = (t: HistoryEvent['eventTime']): number | undefined => timestampMs(t);

const CLOSED: Array<[keyof HistoryEvent, string]> = [
  ['workflowExecutionCompletedEventAttributes', 'COMPLETED'],
  ['workflowExecutionFailedEventAttributes', 'FAILED'],
  ['workflowExecutionTimedOutEventAttributes', 'TIMED_OUT'],
  ['workflowExecutionCanceledEventAttributes', 'CANCELED'],
  ['workflowExecutionTerminatedEventAttributes', 'TERMINATED'],
  ['workflowExecutionContinuedAsNewEventAttributes', 'CONTINUED_AS_NEW'],
];

/** How the workflow closed, if `e` is its close event (COMPLETED, FAILED, … CONTINUED_AS_NEW). */
export function closeStatus(e: HistoryEvent): string | undefined {
  for (const [attr, status] of CLOSED) if (e[attr]) return status;
  return undefined;
}

/** `definition`'s run in processEvent's result, if `e` is its completion. */
export function definitionRunOf(
  e: HistoryEvent,
  definition: string,
): { status: string; result?: Record<string, unknown> } | undefined {
  const completed = e.workflowExecutionCompletedEventAttributes;
  if (!completed) return undefined;
  const result = decodeFirst<{
    runs: Array<{ definition: string; status: string; result?: Record<string, unknown> }>;
  }>(completed.result);
  const run = result?.runs.find((r) => r.definition === definition);
  return run && { status: run.status, result: run.result };
}

/** `fn` over every item, `concurrency` at a time; results in the order they finished. */
export async function eachConcurrently<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) out.push(await fn(items[next++]!));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
