import { defineDefinition } from '../definition';

export const affordabilityCheck = defineDefinition({
  name: 'affordability-check',
  description: 'Flags net deposits over the affordability threshold in the rolling window',
  trigger: 'entity_event.transaction',
  condition: (input) => input.data.type === 'deposit',
  async run(input, ctx) {
    const { assessAffordability, flagRisk } = ctx.activities();
    const a = await assessAffordability(input);
    if (!a.flagged) return { flagged: false, netDeposits: a.netDeposits, threshold: a.threshold };
    const details = {
      eventId: input.eventId ?? null,
      currency: a.currency,
      deposits: a.deposits,
      withdrawals: a.withdrawals,
      netDeposits: a.netDeposits,
      threshold: a.threshold,
      windowDays: a.windowDays,
    };
    await flagRisk({
      operatorId: input.operatorId,
      externalId: input.externalId,
      flag: 'affordability',
      details,
    });
    const alertMessageId = await ctx.alert({
      kind: 'affordability',
      severity: 'warning',
      summary: `Net deposits of ${a.netDeposits} ${a.currency} in ${a.windowDays} days exceed the affordability threshold of ${a.threshold}`,
      details,
    });
    return { flagged: true, netDeposits: a.netDeposits, threshold: a.threshold, alertMessageId };
  },
});
