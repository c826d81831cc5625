import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FanoutResult } from '../../workflows/types';
import { outcomesFromHistory, type CancelledBy, type DefinitionState } from './history-outcomes';
import { Definitions } from '../../workflows/search-attributes';

export type WorkflowStatus =
  | 'running'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'terminated'
  | 'timed_out'
  | 'continued_as_new'
  | 'unknown';

/** How a `processEvent` workflow stands: its status and each definition of its plan. */
export interface WorkflowOutcome {
  workflowId: string;
  status: WorkflowStatus;
  definitions: DefinitionState[];
}

const STATUS: Record<string, WorkflowStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'continued_as_new',
};

function fromResult(result: FanoutResult): DefinitionState[] {
  return result.runs.map((r): DefinitionState => {
    if (r.status === 'completed') return { definition: r.definition, status: 'completed' };
    if (r.status === 'cancelled') {
      const by = (r.result as { cancelledBy?: CancelledBy } | undefined)?.cancelledBy;
      return { definition: r.definition, status: 'cancelled', ...(by ? { cancelledBy: by } : {}) };
    }
    return {
      definition: r.definition,
      status: 'failed',
      error: { message: r.error ?? 'failed', ...(r.errorType ? { type: r.errorType } : {}) },
    };
  });
}

/**
 * Reads a `processEvent` workflow (an event's own, or a re-drive's re-run): describe, then its
 * history. A completed one's result lists each definition's run; a running one's definitions
 * are told from its history and pending activities (history-outcomes.ts), which needs no
 * worker, unlike a query: the answer comes while the workers are down, when it matters most.
 * Histories of this workflow are short (a few events per activity). Null when Temporal does
 * not know the workflow (not started, or closed longer ago than the namespace's retention).
 */
export async function readWorkflowOutcome(
  client: Client,
  workflowId: string,
): Promise<WorkflowOutcome | null> {
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  const status = STATUS[description.status.name] ?? 'unknown';
  // Describe first: every activity it lists as pending is then in the (newer) history.
  const events = (await handle.fetchHistory()).events ?? [];
  const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
  const payload = completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (status === 'completed' && payload) {
    // The default converter: neither the worker nor the API configures another (no codec).
    const result = defaultPayloadConverter.fromPayload<FanoutResult>(payload);
    return { workflowId, status, definitions: fromResult(result) };
  }
  const plan = description.typedSearchAttributes.get(Definitions) ?? [];
  const pending = description.raw.pendingActivities ?? [];
  const closedAs = status === 'running' ? undefined : status;
  return { workflowId, status, definitions: outcomesFromHistory(events, plan, pending, closedAs) };
}
