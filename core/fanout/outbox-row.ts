import type { FanoutInput } from '../../workflows/types';
import { planParts, type PlanParts } from './plan';

/** What the outbox stores for one workflow to start; built in one place for all writers. */
export interface OutboxEntry {
  workflowId: string;
  operatorId: string;
  internalEvent: string;
  payload: FanoutInput;
  searchAttributes: Record<string, string[]>;
  /** The plan as code decides it; the recording statement adds what needs a subscription. */
  plan: PlanParts;
}

/**
 * The payload as the outbox stores it: an event's `data` is left out (it is the event's own
 * column, up to 32 KB; the relay reads it back, see leaseDueStarts in core/db/outbox.ts), so
 * it is neither sent nor written twice. Other rows keep their data.
 */
export function storedPayload(entry: OutboxEntry): string {
  return JSON.stringify(entry.payload.eventId ? { ...entry.payload, data: undefined } : entry.payload);
}

export function outboxEntry(workflowId: string, payload: FanoutInput): OutboxEntry {
  const searchAttributes: Record<string, string[]> = {
    OperatorId: [payload.operatorId],
    EntityExternalId: [payload.externalId],
    InternalEvent: [payload.internalEvent],
  };
  if (payload.eventType) searchAttributes.EventType = [payload.eventType];
  return {
    workflowId,
    operatorId: payload.operatorId,
    internalEvent: payload.internalEvent,
    payload,
    searchAttributes,
    plan: planParts(payload),
  };
}
