import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

/**
 * What the benchmarks and the fault suite read from Temporal histories alike: the proto types as
 * the client hands them out (@temporalio/proto is not a dependency of ours), event times,
 * payloads, how a workflow closed and what its definition's run returned.
 */
export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
export type HistoryEvent = NonNullable<History['events']>[number];
export type Payloads = {
  payloads?: Array<Parameters<typeof defaultPayloadConverter.fromPayload>[0]> | null;
} | null;

/** An event's server time, ms since epoch. */
export const eventMs = (t: HistoryEvent['eventTime']): number | undefined =>
  t ? Number(String(t.seconds ?? 0)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined;

/** The first payload, decoded as the SDK encoded it. */
export function decodeFirst<T>(p: Payloads | undefined): T | undefined {
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
