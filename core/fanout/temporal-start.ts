import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import * as SA from '../temporal/search-attributes';
import type { PendingStart } from '../db/outbox';

/** Workflow type of every fan-out; the definitions it runs are its children. */
export const FANOUT_WORKFLOW = 'fanOut';

const KEYS = {
  OperatorId: SA.OperatorId,
  EntityExternalId: SA.EntityExternalId,
  EventType: SA.EventType,
  InternalEvent: SA.InternalEvent,
} as const;

function typedAttributes(raw: Record<string, string[]>): TypedSearchAttributes {
  const pairs: SearchAttributePair[] = [];
  for (const [name, key] of Object.entries(KEYS)) {
    const value = raw[name]?.[0];
    if (value !== undefined) pairs.push({ key, value } as SearchAttributePair);
  }
  return new TypedSearchAttributes(pairs);
}

/** A one-line, PII-free summary shown in the Temporal UI's workflow list. */
export function fanoutSummary(p: PendingStart['payload']): string {
  const subject = p.eventId ? `${p.eventType} event ${p.eventId}` : p.internalEvent;
  return `${subject} for entity ${p.externalId} (operator ${p.operatorId})`;
}

/**
 * Starts one fan-out workflow. "Already started" counts as success: together with
 * REJECT_DUPLICATE (an ID that ever ran can never run again) this makes every start
 * attempt safe to repeat, so each outbox row yields exactly one workflow.
 */
export async function startFanout(
  client: Client,
  taskQueue: string,
  row: PendingStart,
): Promise<'started' | 'already_started'> {
  try {
    await client.workflow.start(FANOUT_WORKFLOW, {
      taskQueue,
      workflowId: row.workflow_id,
      args: [row.payload],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: typedAttributes(row.search_attributes),
      staticSummary: fanoutSummary(row.payload),
    });
    return 'started';
  } catch (err) {
    if (
      err instanceof WorkflowExecutionAlreadyStartedError ||
      (err as Error)?.name === 'WorkflowExecutionAlreadyStartedError'
    ) {
      return 'already_started';
    }
    throw err;
  }
}
