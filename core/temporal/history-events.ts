import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

// The proto types as the client hands them out (@temporalio/proto is not a dependency of ours).
export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
export type HistoryEvent = NonNullable<History['events']>[number];
export type Payloads = {
  payloads?: Array<Parameters<typeof defaultPayloadConverter.fromPayload>[0]> | null;
} | null;

/** A proto timestamp (an event's time, a next attempt's) as ms since epoch. */
export const timestampMs = (
  t: { seconds?: unknown; nanos?: number | null } | null | undefined,
): number | undefined =>
  t ? Number(String(t.seconds ?? 0)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined;

/** The first payload, decoded as the SDK encoded it. */
export function decodeFirst<T>(p: Payloads | undefined): T | undefined {
  const first = p?.payloads?.[0];
  return first ? defaultPayloadConverter.fromPayload<T>(first) : undefined;
}
