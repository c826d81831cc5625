/**
 * Shapes that cross the boundary into workflows. Plain data only: these are the
 * workflow inputs recorded in history.
 */

/** The internal event a workflow handles, e.g. `entity_event.transaction`. */
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
  /**
   * Where its webhooks go, fixed when the event was recorded (recorded events only; absent
   * for re-drives and entity or state changes, whose webhooks look their endpoints up when
   * they are sent).
   */
  webhooks?: PlannedWebhooks;
}

/** Endpoint ids: those whose filter matches the event (forwarded), and every enabled one (alerts). */
export interface PlannedWebhooks {
  forward: string[];
  alert: string[];
}

/** The input of `processEvent`: the event and its plan, fixed when the event was recorded. */
export interface EventWorkflowInput extends FanoutInput {
  /** Names of the definitions to run (workflows/definitions), in order. */
  definitions: string[];
}

export interface DefinitionRun {
  definition: string;
  /** cancelled: a later event (cancelOn, or the entity's erasure) ended its waits; not a failure. */
  status: 'completed' | 'failed' | 'cancelled';
  result?: unknown;
  error?: string;
  /** The type of the failure a failed definition gave up with, e.g. `KycRequestRejected`. */
  errorType?: string;
}

export interface FanoutResult {
  internalEvent: string;
  matched: number;
  completed: number;
  failed: number;
  /** Ended by a later event (cancelOn, erasure): neither completed nor failed. */
  cancelled: number;
  runs: DefinitionRun[];
}

/**
 * A later internal event of the entity, as a waiting definition receives it: read by its
 * wait's lookback, or signalled after it was recorded (core/db/waits.ts).
 */
export interface WaitEvent {
  /** One per internal event, however it arrives: the ID of its outbox row, e.g. `entity_event.document:eev_…`. */
  key: string;
  internalEvent: string;
  eventId?: string | null;
  eventType?: string | null;
  stateKey?: string | null;
  /** The event's data; for a state update `{ value }`. */
  data: Record<string, unknown>;
  /** When it was recorded: ISO-8601, microseconds, UTC. */
  at: string;
}
