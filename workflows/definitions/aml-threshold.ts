import { defineDefinition } from '../definition';

export const amlThreshold = defineDefinition({
  name: 'aml-threshold',
  description: 'Flags a single transaction at or over the AML threshold of its currency',
  trigger: 'entity_event.transaction',
  async run(input, ctx) {
    const { assessAml, flagRisk } = ctx.activities();
    const assessment = await assessAml(input);
    if (!assessment.flagged) return { flagged: false, threshold: assessment.threshold };
    const details = {
      eventId: input.eventId ?? null,
      transactionType: input.data.type ?? null,
      amount: assessment.amount,
      currency: assessment.currency,
      threshold: assessment.threshold,
    };
    const { riskScore } = await flagRisk({
      operatorId: input.operatorId,
      externalId: input.externalId,
      flag: 'aml_threshold',
      details,
    });
    const alertMessageId = await ctx.alert({
      kind: 'aml_threshold',
      severity: 'warning',
      summary: `${String(input.data.type)} of ${assessment.amount} ${assessment.currency} is at or over the AML threshold of ${assessment.threshold}`,
      details: { ...details, riskScore: riskScore?.score ?? null },
    });
    return { flagged: true, threshold: assessment.threshold, alertMessageId };
  },
});
