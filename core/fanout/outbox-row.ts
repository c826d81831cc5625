import type { FanoutInput } from '../../workflows/types';
import { planParts, type PlanParts } from './plan';

/**
 * One workflow to start, as the immediate path hands it to the dispatcher: its input and its
 * search attributes. The outbox row the recording statement writes holds the same, built in SQL
 * (EVENT_OUTBOX_PAYLOAD_SQL in core/db/events.ts, without the event's data; a test compares).
 */
export interface OutboxEntry {
  workflowId: string;
  operatorId: string;
  internalEvent: string;
  payload: FanoutInput;
  searchAttributes: Record<string, string[]>;
  /** The plan as code decides it; the recording statement adds what needs a subscription. */
  plan: PlanParts;
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
