import { defineDefinition } from '../definition';

export const operatorWebhook = defineDefinition({
  name: 'operator-webhook',
  description: 'Forwards internal events the operator subscribed to, as signed webhooks',
  trigger: ['entity_event.*', 'entity.*', 'entity_state.*', 'provider.webhook.*'],
  // Planned only where the operator's endpoint subscribes: the recording statement decides.
  requiresSubscription: true,
  async run(_input, ctx) {
    return { forwarded: true, messageId: await ctx.forward() };
  },
});
