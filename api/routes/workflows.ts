import type { WorkflowDefaults } from '../../core/config';
import type { DomainDeps } from '../../core/domain/deps';
import { getWorkflows, putWorkflows } from '../../core/domain/workflow-settings';
import { defineRoute } from '../http/route';
import { PutWorkflowsBody, WorkflowsState } from '../schemas/workflows';

const NOTE =
  'Settings apply to events recorded from the moment they are stored: an event keeps the plan and parameters in force when it was recorded.';

/** `/workflows`: the operator's own rules for the built-in definitions. */
export function workflowRoutes(deps: DomainDeps, defaults: WorkflowDefaults) {
  return [
    defineRoute({
      method: 'get',
      path: '/workflows',
      tag: 'Workflows',
      summary: 'List the workflow definitions and your settings for them',
      description: NOTE,
      responses: { 200: { description: 'Definitions and settings', schema: WorkflowsState } },
      handler: async (_ctx, { auth }) => ({
        status: 200,
        body: { success: true, data: await getWorkflows(deps.pool, auth.operatorId, defaults) },
      }),
    }),
    defineRoute({
      method: 'put',
      path: '/workflows',
      tag: 'Workflows',
      summary: 'Replace your workflow settings (definitions on or off, parameters)',
      description: NOTE,
      body: PutWorkflowsBody,
      responses: { 200: { description: 'The settings now in force', schema: WorkflowsState } },
      handler: async (_ctx, { body, auth }) => ({
        status: 200,
        body: { success: true, data: await putWorkflows(deps.pool, auth.operatorId, body, defaults) },
      }),
    }),
  ];
}
