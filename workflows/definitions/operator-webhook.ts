import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { DATABASE_ACTIVITY } from '../activity-options';
import { defineWorkflow } from '../definition';
import { startWebhookDelivery } from './deliver-webhook';

const { isSubscribed } = proxyActivities<Activities>(DATABASE_ACTIVITY);

export const operatorWebhook = defineWorkflow(
  {
    name: 'operator-webhook',
    description: 'Forwards internal events the operator subscribed to, as signed webhooks',
    trigger: ['entity_event.*', 'entity.*', 'entity_state.*'],
  },
  // The subscription lives in the database, which a condition cannot read: the first
  // activity asks, and most runs end right there.
  async function operatorWebhook(input) {
    if (!(await isSubscribed({ operatorId: input.operatorId, internalEvent: input.internalEvent }))) {
      return { forwarded: false };
    }
    const deliveryWorkflowId = await startWebhookDelivery(
      {
        operatorId: input.operatorId,
        message: {
          type: input.internalEvent,
          timestamp: input.occurredAt,
          data: {
            externalId: input.externalId,
            eventId: input.eventId ?? null,
            eventType: input.eventType ?? null,
            stateKey: input.stateKey ?? null,
            data: input.data,
          },
        },
      },
      'webhook',
    );
    return { forwarded: true, deliveryWorkflowId };
  },
);
