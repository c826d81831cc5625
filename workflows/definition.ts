import type { FanoutInput } from './types';

/**
 * A workflow definition: which internal event triggers it, an optional condition on the
 * event, and the workflow that runs. The fan-out workflow runs every matching definition
 * as a child workflow.
 */
export interface WorkflowDefinition {
  /** Stable, kebab-case; part of the child workflow ID and the DefinitionName search attribute. */
  name: string;
  description: string;
  /** Internal event name, e.g. `entity_event.transaction`; a trailing `*` matches a prefix. */
  trigger: string | string[];
  /** Pure and deterministic: it runs inside the workflow sandbox. */
  condition?: (input: FanoutInput) => boolean;
  /**
   * Set when a definition is added or changed while fan-outs are running: the fan-out
   * then runs it only under `patched(patchId)`, so replaying an older history (recorded
   * before the definition existed) takes the same path it took then.
   */
  patchId?: string;
}

export type DefinitionWorkflow = ((input: FanoutInput) => Promise<unknown>) & {
  definition: WorkflowDefinition;
};

/** Attaches a definition to its workflow function, so one export carries both. */
export function defineWorkflow(
  definition: WorkflowDefinition,
  workflow: (input: FanoutInput) => Promise<unknown>,
): DefinitionWorkflow {
  return Object.assign(workflow, { definition });
}

export function isDefinitionWorkflow(value: unknown): value is DefinitionWorkflow {
  return typeof value === 'function' && typeof (value as { definition?: unknown }).definition === 'object';
}

export function triggerMatches(trigger: string | string[], internalEvent: string): boolean {
  const triggers = Array.isArray(trigger) ? trigger : [trigger];
  return triggers.some((t) =>
    t.endsWith('*') ? internalEvent.startsWith(t.slice(0, -1)) : t === internalEvent,
  );
}

export function definitionMatches(def: WorkflowDefinition, input: FanoutInput): boolean {
  return triggerMatches(def.trigger, input.internalEvent) && (def.condition ? def.condition(input) : true);
}
