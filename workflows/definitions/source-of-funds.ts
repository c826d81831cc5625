import { defineDefinition } from '../definition';

/** `sof_status` values the operator writes to settle a request. */
const VERDICTS = ['verified', 'rejected'];

/**
 * Source of funds, as AML rules ask for it (e.g. Malta's FIAU: a risk assessment and, on a risk
 * basis, source of funds once deposits reach €2,000; the AML Regulation keeps €2,000 from 2027):
 * once the player's deposits over the rolling window reach the operator's threshold, ask, then
 * wait for the operator's verdict until the deadline, reminding the operator on the way.
 */
export const sourceOfFunds = defineDefinition({
  name: 'source-of-funds',
  description:
    'Requests source of funds once deposits over the window reach the threshold, and waits for the verdict until a deadline',
  trigger: 'entity_event.transaction',
  condition: (input) => input.data.type === 'deposit',
  waits: true,
  // A self-exclusion ends the request: the player is not to be contacted.
  cancelOn: [
    { event: 'entity_event.block', where: (e) => (e.data.type ?? 'self_exclusion') === 'self_exclusion' },
  ],
  async run(input, ctx) {
    const { assessSourceOfFunds, setSourceOfFundsStatus } = ctx.activities();
    const a = await assessSourceOfFunds(input);
    const details = {
      eventId: input.eventId ?? null,
      currency: a.currency,
      deposits: a.deposits,
      threshold: a.threshold,
      windowDays: a.windowDays,
      deadline: a.deadline,
    };
    if (!a.required)
      return { requested: false, reason: a.reason, deposits: a.deposits, threshold: a.threshold };
    const player = { operatorId: input.operatorId, externalId: input.externalId };
    // Another deposit's workflow may have asked a moment ago: then that one waits, not this one.
    const asked = await setSourceOfFundsStatus({
      ...player,
      status: 'requested',
      onlyIf: [null, 'cancelled'],
    });
    if (!asked.written) return { requested: false, reason: 'already_requested', status: asked.current };
    await ctx.alert({
      kind: 'source_of_funds_requested',
      severity: 'warning',
      summary: `Deposits of ${a.deposits} ${a.currency} in ${a.windowDays} days reached ${a.threshold}: source of funds requested, due within ${a.deadline}`,
      details,
    });
    const outcome = await ctx.waitFor({
      label: 'sof_status verified or rejected',
      for: {
        event: 'entity_state.updated.sof_status',
        where: (e) => VERDICTS.includes(String(e.data.value)),
      },
      timeout: a.deadline,
      escalations: [
        {
          after: a.reminder,
          run: () =>
            ctx.alert({
              kind: 'source_of_funds_reminder',
              severity: 'warning',
              summary: `Source of funds for ${input.externalId} still awaited; due within ${a.deadline} of the request`,
              details,
            }),
        },
      ],
    });
    if (outcome.status === 'satisfied')
      return { requested: true, status: outcome.event.data.value, decidedAt: outcome.event.at };
    const overdue = await setSourceOfFundsStatus({ ...player, status: 'overdue', onlyIf: ['requested'] });
    await ctx.alert({
      kind: 'source_of_funds_overdue',
      severity: 'critical',
      summary: `Source of funds for ${input.externalId} is overdue: no verdict within ${a.deadline}`,
      details: { ...details, deadlineAt: outcome.deadline },
    });
    return {
      requested: true,
      status: overdue.written ? 'overdue' : overdue.current,
      deadlineAt: outcome.deadline,
    };
  },
  async onCancel(input, ctx, cancelledBy) {
    const { setSourceOfFundsStatus } = ctx.activities();
    const withdrawn = await setSourceOfFundsStatus({
      operatorId: input.operatorId,
      externalId: input.externalId,
      status: 'cancelled',
      onlyIf: ['requested'],
    });
    return { withdrawn: withdrawn.written, by: cancelledBy.internalEvent };
  },
});
