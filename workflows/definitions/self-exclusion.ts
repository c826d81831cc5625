import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { DATABASE_ACTIVITY } from '../activity-options';
import { defineWorkflow } from '../definition';
import { raiseAlert } from './deliver-webhook';

const { flagRisk } = proxyActivities<Activities>(DATABASE_ACTIVITY);

export const selfExclusion = defineWorkflow(
  {
    name: 'self-exclusion',
    description: 'Marks a self-excluded player and alerts the operator at once',
    trigger: 'entity_event.block',
    // A block event without a subtype is a self-exclusion; other restrictions carry their own `type`.
    condition: (input) => (input.data.type ?? 'self_exclusion') === 'self_exclusion',
  },
  async function selfExclusion(input) {
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
    const alertWorkflowId = await raiseAlert(input, {
      kind: 'self_exclusion',
      severity: 'critical',
      summary: `Player ${input.externalId} self-excluded: stop marketing and block play`,
      details: { ...details, riskScore: riskScore?.score ?? null },
    });
    return { selfExcluded: true, alertWorkflowId };
  },
);
