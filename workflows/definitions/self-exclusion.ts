import { defineDefinition } from '../definition';

export const selfExclusion = defineDefinition({
  name: 'self-exclusion',
  description: 'Marks a self-excluded player and alerts the operator at once',
  trigger: 'entity_event.block',
  // A block event without a subtype is a self-exclusion; other restrictions carry their own `type`.
  condition: (input) => (input.data.type ?? 'self_exclusion') === 'self_exclusion',
  async run(input, ctx) {
    const { flagRisk } = ctx.activities();
    const details = {
      eventId: input.eventId ?? null,
      reason: input.data.reason ?? null,
      durationDays: input.data.duration_days ?? null,
      until: input.data.until ?? null,
    };
    const { riskScore } = await flagRisk({
      operatorId: input.operatorId,
      externalId: input.externalId,
      flag: 'self_exclusion',
      details,
    });
    const alertMessageId = await ctx.alert({
      kind: 'self_exclusion',
      severity: 'critical',
      summary: `Player ${input.externalId} self-excluded: stop marketing and block play`,
      details: { ...details, riskScore: riskScore?.score ?? null },
    });
    return { selfExcluded: true, alertMessageId };
  },
});
