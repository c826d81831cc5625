import type { ActivityInterfaceFor, ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FanoutInput, WaitEvent } from './types';
import type { WaitMatch, WaitOptions, WaitOutcome } from './waits';

/** The body of an operator alert: delivered as the signed webhook `alert.<kind>`. */
export interface Alert {
  /** `kyc_rejected`, `aml_threshold`, …: the webhook type is `alert.<kind>`. */
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  summary: string;
  details: Record<string, unknown>;
}

/**
 * What a definition's `run` may do, given to it by the event's workflow: call activities
 * (each labelled with the definition's name in the Temporal UI) and send webhooks. Everything
 * runs inside the event's one workflow, as retryable activities; no child workflows.
 */
export interface DefinitionContext {
  /** The definition's own name, e.g. `kyc-on-deposit`. */
  name: string;
  /** Activities with these options (DATABASE_ACTIVITY when none are given). */
  activities(options?: ActivityOptions): ActivityInterfaceFor<Activities>;
  /** Raises an operator alert to every enabled endpoint; answers the message id (its `webhook-id` at each). */
  alert(alert: Alert): Promise<string>;
  /** Forwards this internal event to each enabled endpoint that subscribes; answers the message id. */
  forward(): Promise<string>;
  /**
   * Waits, durably, for a later internal event of the same entity (a recorded event, a state
   * update `entity_state.updated.<key>`, a provider's result), up to a timeout: answers the
   * first match, or `timed_out`. An event recorded after this workflow's own event counts even
   * if it came before the wait began; each one is seen once. While it waits, one of the
   * definition's `cancelOn` events (or the entity's erasure) ends the definition as cancelled.
   */
  waitFor(options: WaitOptions): Promise<WaitOutcome>;
}

/**
 * A workflow definition: which internal event triggers it, an optional pure condition on the
 * event, and the steps it runs. The plan of an event (which definitions run) is fixed when the
 * event is recorded, from `trigger`, `condition` and `requiresSubscription`; its workflow then
 * runs each planned definition's `run` as a branch of its own, in parallel.
 */
export interface Definition {
  /** Stable, kebab-case: it appears in the `Definitions` search attribute and in webhook ids. */
  name: string;
  description: string;
  /** Internal event name, e.g. `entity_event.transaction`; a trailing `*` matches a prefix. */
  trigger: string | string[];
  /** Pure and deterministic: it runs in the API when the event is recorded. */
  condition?: (input: FanoutInput) => boolean;
  /**
   * Planned only when the operator's webhook endpoint subscribes to the internal event (decided
   * in the recording statement, so an operator without a subscription pays for nothing).
   */
  requiresSubscription?: boolean;
  /** The steps, as workflow code: deterministic, side effects only through `ctx`. */
  run(input: FanoutInput, ctx: DefinitionContext): Promise<unknown>;
  /**
   * Set when `run` may call `ctx.waitFor` (which refuses otherwise): its runs can last days, so
   * re-drives and backfills start its re-runs without awaiting their end.
   */
  waits?: boolean;
  /**
   * Later events that end this definition's pending waits (e.g. a self-exclusion): its run
   * stops, `onCancel` runs, and the outcome is `cancelled`, not failed. The entity's erasure
   * always does the same.
   */
  cancelOn?: WaitMatch[];
  /** The cleanup step after a cancellation (activities through `ctx`); its answer is reported. */
  onCancel?(input: FanoutInput, ctx: DefinitionContext, cancelledBy: WaitEvent): Promise<unknown>;
}

/** Identity, for type checking and a single obvious way to write one. */
export function defineDefinition(definition: Definition): Definition {
  return definition;
}

/** A definition's triggers as a list (`trigger` may be one string). */
export function triggersOf(trigger: string | string[]): string[] {
  return Array.isArray(trigger) ? trigger : [trigger];
}

/**
 * The one rule by which a trigger (or a webhook endpoint's event filter) matches an internal
 * event: the name itself, or a prefix ending in `*`. SQL applies the same rule through
 * `internal_event_matches` (migration 013); test/core/event-matching.test.ts compares the two.
 */
export function patternMatches(pattern: string, internalEvent: string): boolean {
  return pattern.endsWith('*') ? internalEvent.startsWith(pattern.slice(0, -1)) : pattern === internalEvent;
}

export function triggerMatches(trigger: string | string[], internalEvent: string): boolean {
  return triggersOf(trigger).some((t) => patternMatches(t, internalEvent));
}

export function definitionMatches(def: Definition, input: FanoutInput): boolean {
  return triggerMatches(def.trigger, input.internalEvent) && (def.condition ? def.condition(input) : true);
}
