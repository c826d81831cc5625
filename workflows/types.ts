/**
 * Shapes that cross the boundary into workflows. Plain data only: these are the
 * workflow inputs recorded in history.
 */

/** The internal event a fan-out workflow handles, e.g. `entity_event.transaction`. */
export interface FanoutInput {
  internalEvent: string;
  operatorId: string;
  externalId: string;
  /** Set for `entity_event.*`. */
  eventId?: string;
  eventType?: string;
  /** Set for `entity_state.updated.*`. */
  stateKey?: string;
  /** Event payload, state value, or (for entity.*) the entity's non-PII fields. */
  data: Record<string, unknown>;
  occurredAt: string;
}

export interface DefinitionRun {
  definition: string;
  workflowId: string;
  status: 'completed' | 'failed';
  result?: unknown;
  error?: string;
}

export interface FanoutResult {
  internalEvent: string;
  matched: number;
  completed: number;
  failed: number;
  runs: DefinitionRun[];
}
