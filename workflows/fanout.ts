import { ParentClosePolicy, executeChild, log, patched, workflowInfo } from '@temporalio/workflow';
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
  type TypedSearchAttributes,
} from '@temporalio/common';
import * as registered from './definitions';
import { definitionMatches, isDefinitionWorkflow, type DefinitionWorkflow } from './definition';
import type { DefinitionRun, FanoutInput, FanoutResult } from './types';

// Declared here rather than imported from core/: workflows see only workflow-safe modules.
const DefinitionName = defineSearchAttributeKey('DefinitionName', SearchAttributeType.KEYWORD);

/**
 * Every registered definition (workflows/definitions/index.ts), sorted by name: the order
 * of a module namespace's keys is not the order of the export lines, and the order in which
 * children start is part of the history, so it must not depend on how the bundle was built.
 */
export const catalog: DefinitionWorkflow[] = Object.values(registered)
  .filter(isDefinitionWorkflow)
  .sort((a, b) =>
    a.definition.name < b.definition.name ? -1 : a.definition.name > b.definition.name ? 1 : 0,
  );

/**
 * The fan-out of one internal event (ID `entity_event.<type>:<eventId>` for recorded
 * events). Runs every matching definition as a child workflow, in parallel, with a
 * deterministic ID; one failing definition does not stop the others.
 */
export async function fanOut(input: FanoutInput): Promise<FanoutResult> {
  const parent = workflowInfo();
  const matched = catalog.filter(
    (wf) =>
      definitionMatches(wf.definition, input) &&
      // Evaluated last, so a patch marker is recorded only where the definition would run.
      (wf.definition.patchId === undefined || patched(wf.definition.patchId)),
  );
  const runs = await Promise.all(
    matched.map((wf) => runDefinition(wf, input, parent.workflowId, parent.typedSearchAttributes)),
  );
  const result: FanoutResult = {
    internalEvent: input.internalEvent,
    matched: runs.length,
    completed: runs.filter((r) => r.status === 'completed').length,
    failed: runs.filter((r) => r.status === 'failed').length,
    runs,
  };
  log.info('fan-out finished', { matched: result.matched, failed: result.failed });
  return result;
}

async function runDefinition(
  wf: DefinitionWorkflow,
  input: FanoutInput,
  parentId: string,
  parentAttributes: TypedSearchAttributes,
): Promise<DefinitionRun> {
  const name = wf.definition.name;
  const workflowId = `${parentId}/${name}`;
  const attributes: SearchAttributePair[] = [
    ...parentAttributes.getAll().filter((p) => p.key.name !== DefinitionName.name),
    { key: DefinitionName, value: name },
  ];
  try {
    const result = await executeChild(wf, {
      workflowId,
      args: [input],
      typedSearchAttributes: attributes,
      staticSummary: `${wf.definition.description} (${input.internalEvent} for entity ${input.externalId})`,
      // Long-running children (webhook retries for hours) outlive a cancelled parent.
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { definition: name, workflowId, status: 'completed', result };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause;
    return {
      definition: name,
      workflowId,
      status: 'failed',
      error: cause?.message ?? (err as Error).message,
    };
  }
}
