import { definitionMatches } from '../../workflows/definition';
import { definitions } from '../../workflows/definitions';
import type { FanoutInput } from '../../workflows/types';

/**
 * The plan of one internal event, as far as code can decide it: the definitions whose trigger
 * and condition match, split by whether they also need the operator's webhook endpoint to
 * subscribe to the event. The recording statement decides the second part against the
 * endpoint as it is in the same transaction (planSql), so the plan is fixed once, at
 * recording, and an operator without a subscription pays for no forwarding step.
 */
export interface PlanParts {
  always: string[];
  ifSubscribed: string[];
}

export function planParts(input: FanoutInput): PlanParts {
  const matched = definitions.filter((d) => definitionMatches(d, input));
  return {
    always: matched.filter((d) => !d.requiresSubscription).map((d) => d.name),
    ifSubscribed: matched.filter((d) => d.requiresSubscription).map((d) => d.name),
  };
}

/**
 * SQL for the final plan (`text[]`) from the two parts, given SQL expressions for the operator,
 * the internal event and the two parts; `fanout_subscribed` is migration 005's function.
 */
export function planSql(
  operatorId: string,
  internalEvent: string,
  always: string,
  ifSubscribed: string,
): string {
  return `(${always}::text[] || case when cardinality(${ifSubscribed}::text[]) > 0
            and fanout_subscribed(${operatorId}, ${internalEvent}) then ${ifSubscribed}::text[] else '{}'::text[] end)`;
}

/** The parts of an internal event's plan that SQL needs, from the fields the writer knows. */
export function planOf(
  internalEvent: string,
  f: { operatorId: string; externalId: string; data: Record<string, unknown>; stateKey?: string },
): PlanParts {
  return planParts({ internalEvent, ...f, occurredAt: '' });
}

/** For set-based writes: a part as one text per row (`string_to_array(x, ',')` in SQL). */
export const partCsv = (names: string[]): string => names.join(',');
