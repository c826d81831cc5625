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
  return planWithSubscription(
    operatorId,
    `(cardinality(${ifSubscribed}::text[]) > 0 and fanout_subscribed(${operatorId}, ${internalEvent}))`,
    always,
    ifSubscribed,
  );
}

/**
 * The same, given the subscription as a boolean expression: set-based writes look it up once
 * per distinct (operator, internal event) rather than once per row (SUBSCRIPTIONS_SQL).
 *
 * Every recording path comes through here, so this is where the definitions the operator
 * switched off leave the plan (fanout_enabled_plan, migration 010). `subscribed` is written
 * once (it may be a function call) and the lookup is made only for a non-empty plan: a game
 * round that plans nothing costs no more than before.
 */
export function planWithSubscription(
  operatorId: string,
  subscribed: string,
  always: string,
  ifSubscribed: string,
): string {
  const enabled = (plan: string) =>
    `case when cardinality(${plan}) = 0 then ${plan} else fanout_enabled_plan(${operatorId}, ${plan}) end`;
  const a = `${always}::text[]`;
  return `(case when ${subscribed} then ${enabled(`(${a} || ${ifSubscribed}::text[])`)} else ${enabled(a)} end)`;
}

/**
 * A CTE body over a relation `i` with columns operator_id, internal_event and if_subscribed (a
 * comma-joined part): for each distinct operator and internal event, the webhook endpoints its
 * messages go to (`targets`: {forward, alert}, migration 009) and whether any subscribes.
 */
export const SUBSCRIPTIONS_SQL = `select t.operator_id, t.internal_event, t.targets,
            jsonb_array_length(t.targets->'forward') > 0 as subscribed
       from (select d.operator_id, d.internal_event, webhook_targets(d.operator_id, d.internal_event) as targets
               from (select distinct operator_id, internal_event from i where i.if_subscribed <> '') d) t`;

/** The parts of an internal event's plan that SQL needs, from the fields the writer knows. */
export function planOf(
  internalEvent: string,
  f: { operatorId: string; externalId: string; data: Record<string, unknown>; stateKey?: string },
): PlanParts {
  return planParts({ internalEvent, ...f, occurredAt: '' });
}

/** For set-based writes: a part as one text per row (`string_to_array(x, ',')` in SQL). */
export const partCsv = (names: string[]): string => names.join(',');
