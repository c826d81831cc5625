import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';

/** The ID of the workflow that scheduled the running activity. */
export function currentWorkflowId(): string {
  const workflowId = Context.current().info.workflowExecution?.workflowId;
  if (!workflowId) throw new Error('This activity must be scheduled by a workflow');
  return workflowId;
}

/**
 * An id that is the same for every attempt of the running activity and different for any
 * other activity: derived from the workflow ID and the activity ID (plus a purpose, when one
 * activity needs several). Retries of a side effect reuse it, so they are recognised as retries.
 */
export function attemptStableId(prefix: string, purpose = ''): string {
  const info = Context.current().info;
  const digest = createHash('sha256')
    .update(`${currentWorkflowId()}/${info.activityId}/${purpose}`)
    .digest('hex');
  return prefix + digest.slice(0, 16);
}
