import type { Client } from '@temporalio/client';
import { operatorPriority } from '../../workflows/fairness';

/**
 * Starts `workflowType` as `workflowId`, or joins the run of that ID still going (the same
 * request sent twice is one run); once that run has closed, the same request runs again. For
 * the workflows the API starts on an operator's request (webhook resend and recover), with that
 * operator as their fairness key.
 */
export async function startOrJoin(
  temporal: Client,
  taskQueue: string,
  workflowType: string,
  workflowId: string,
  args: unknown[],
  operatorId: string,
): Promise<{ workflowId: string; runId: string }> {
  const handle = await temporal.workflow.start(workflowType, {
    taskQueue,
    workflowId,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args,
    priority: operatorPriority(operatorId),
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}
