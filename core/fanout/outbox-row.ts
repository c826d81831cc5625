import type { FanoutInput } from '../../workflows/types';

/** What the outbox stores for one workflow to start; built in one place for all writers. */
export interface OutboxEntry {
  workflowId: string;
  operatorId: string;
  internalEvent: string;
  payload: FanoutInput;
  searchAttributes: Record<string, string[]>;
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
  };
}
