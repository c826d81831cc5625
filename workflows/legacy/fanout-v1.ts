/**
 * The retired shape of the fan-out, kept registered only so that workflows started before the
 * `processEvent` shape can finish and their histories replay: `fanOut` ran each matching
 * definition as a child workflow (types below, named as they were), and alerts and forwarded
 * events as `deliverWebhook` children. Nothing starts `fanOut` any more except the relay, for
 * outbox rows written before migration 005 (no plan). Remove this module once
 * `WorkflowType = 'fanOut' OR WorkflowType = 'deliverWebhook'` finds no running workflow
 * (deliveries may retry for WEBHOOK_RETRY_WINDOW_MS after their fan-out) — see the README,
 * "Changing a workflow safely". The definitions' steps are shared with the new shape; only how
 * they are started and how their webhooks are sent differ.
 */
import {
  ParentClosePolicy,
  executeChild,
  log,
  proxyActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
  type TypedSearchAttributes,
} from '@temporalio/common';
import type { Activities } from '../../activities';
import { DATABASE_ACTIVITY } from '../activity-options';
import { definitionMatches, type Definition, type DefinitionContext } from '../definition';
import * as registered from '../definitions';
import { alertMessage, forwardedMessage } from '../process-event';
import type { DefinitionRun, FanoutInput, FanoutResult } from '../types';
import { startWebhookDelivery } from './deliver-webhook';

export { deliverWebhook } from './deliver-webhook';

const DefinitionName = defineSearchAttributeKey('DefinitionName', SearchAttributeType.KEYWORD);
const { isSubscribed } = proxyActivities<Activities>(DATABASE_ACTIVITY);

function legacyContext(def: Definition, input: FanoutInput): DefinitionContext {
  return {
    name: def.name,
    activities: (options: ActivityOptions = DATABASE_ACTIVITY) => proxyActivities<Activities>(options),
    alert: (alert) =>
      startWebhookDelivery(
        { operatorId: input.operatorId, message: alertMessage(input, alert, workflowInfo().workflowId) },
        'alert',
      ),
    forward: () =>
      startWebhookDelivery({ operatorId: input.operatorId, message: forwardedMessage(input) }, 'webhook'),
  };
}

const run = (def: Definition) => (input: FanoutInput) => def.run(input, legacyContext(def, input));

export const kycOnDeposit = run(registered.kycOnDeposit);
export const amlThreshold = run(registered.amlThreshold);
export const affordabilityCheck = run(registered.affordabilityCheck);
export const selfExclusion = run(registered.selfExclusion);
/** The subscription was asked here, by an activity, rather than planned at recording. */
export async function operatorWebhook(input: FanoutInput): Promise<unknown> {
  if (!(await isSubscribed({ operatorId: input.operatorId, internalEvent: input.internalEvent }))) {
    return { forwarded: false };
  }
  return run(registered.operatorWebhook)(input);
}

/** Child workflow type by definition, in name order (the order children were started in). */
const children: Array<[Definition, string]> = (
  [
    [registered.affordabilityCheck, 'affordabilityCheck'],
    [registered.amlThreshold, 'amlThreshold'],
    [registered.kycOnDeposit, 'kycOnDeposit'],
    [registered.operatorWebhook, 'operatorWebhook'],
    [registered.selfExclusion, 'selfExclusion'],
  ] as Array<[Definition, string]>
).sort(([a], [b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

export async function fanOut(input: FanoutInput): Promise<FanoutResult> {
  const parent = workflowInfo();
  // No definition carried a patch marker when this shape was retired.
  const matched = children.filter(([def]) => definitionMatches(def, input));
  const runs = await Promise.all(
    matched.map(([def, wf]) => runChild(def, wf, input, parent.workflowId, parent.typedSearchAttributes)),
  );
  const result: FanoutResult = {
    internalEvent: input.internalEvent,
    matched: runs.length,
    completed: runs.filter((r) => r.status === 'completed').length,
    failed: runs.filter((r) => r.status === 'failed').length,
    runs,
  };
  log.debug('fan-out finished', { matched: result.matched, failed: result.failed });
  return result;
}

async function runChild(
  def: Definition,
  workflowType: string,
  input: FanoutInput,
  parentId: string,
  parentAttributes: TypedSearchAttributes,
): Promise<DefinitionRun> {
  const workflowId = `${parentId}/${def.name}`;
  const attributes: SearchAttributePair[] = [
    ...parentAttributes.getAll().filter((p) => p.key.name !== DefinitionName.name),
    { key: DefinitionName, value: def.name },
  ];
  try {
    const result = await executeChild(workflowType, {
      workflowId,
      args: [input],
      typedSearchAttributes: attributes,
      staticSummary: `${def.description} (${input.internalEvent} for entity ${input.externalId})`,
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { definition: def.name, workflowId, status: 'completed', result };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause;
    return {
      definition: def.name,
      workflowId,
      status: 'failed',
      error: cause?.message ?? (err as Error).message,
    };
  }
}
