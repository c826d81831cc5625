import type { Client } from '@temporalio/client';

/**
 * Starts `workflowType` as `workflowId`, or joins the run of that ID still going (the same
 * request sent twice is one run); once that run has closed, the same request runs again. For
 * the workflows the API starts on an operator's request (webhook resend and recover).
 */
export async function startOrJoin(
  temporal: Client,
  taskQueue: string,
  workflowType: string,
  workflowId: string,
  args: unknown[],
): Promise<{ workflowId: string; runId: string }> {
  const handle = await temporal.workflow.start(workflowType, {
    taskQueue,
    workflowId,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args,
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}
