import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { operatorPriority } from '../../workflows/fairness';
import * as SA from '../../workflows/search-attributes';
import type { PendingStart } from '../db/outbox';

/** Workflow type of every event's workflow: runs the definitions of its plan as activities. */
export const EVENT_WORKFLOW = 'processEvent';

/** The keyword attributes an outbox row carries (core/fanout/outbox-row.ts writes them by name). */
const ROW_KEYS = [SA.OperatorId, SA.EntityExternalId, SA.EventType, SA.InternalEvent] as const;

function typedAttributes(raw: Record<string, string[]>, definitions: string[]): TypedSearchAttributes {
  const pairs: SearchAttributePair[] = [];
  for (const key of ROW_KEYS) {
    const value = raw[key.name]?.[0];
    if (value !== undefined) pairs.push({ key, value } as SearchAttributePair);
  }
  // Left unset for an empty plan: `Definitions IS NULL` finds the events nothing ran for.
  if (definitions.length > 0) pairs.push({ key: SA.Definitions, value: definitions });
  return new TypedSearchAttributes(pairs);
}

/** A one-line, PII-free summary shown in the Temporal UI's workflow list. */
export function fanoutSummary(p: PendingStart['payload']): string {
  const subject = p.eventId ? `${p.eventType} event ${p.eventId}` : p.internalEvent;
  return `${subject} for entity ${p.externalId} (operator ${p.operatorId})`;
}

/**
 * Starts the workflow of one outbox row: `processEvent` with the row's plan as input and as
 * the `Definitions` search attribute. "Already started" counts as success: together with
 * REJECT_DUPLICATE (an ID that ever ran can never run again) this makes every start
 * attempt safe to repeat, so each outbox row yields exactly one workflow. The operator is its
 * fairness key, for its activities too (workflows/fairness.ts).
 */
export async function startFanout(
  client: Client,
  taskQueue: string,
  row: PendingStart,
): Promise<'started' | 'already_started'> {
  try {
    await client.workflow.start(EVENT_WORKFLOW, {
      taskQueue,
      workflowId: row.workflow_id,
      args: [{ ...row.payload, definitions: row.definitions }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: typedAttributes(row.search_attributes, row.definitions),
      staticSummary: fanoutSummary(row.payload),
      priority: operatorPriority(row.payload.operatorId),
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
