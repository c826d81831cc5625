import { Context } from '@temporalio/activity';
import { markEndpointDelivered, markEndpointFailing } from '../../core/db/webhook-health';
import { listWebhookEndpoints } from '../../core/db/webhooks';
import { operatorPriority } from '../../workflows/fairness';
import type { ResolvedDeps } from '../index';
import type { WebhookMessage } from './activities';

/**
 * Auto-disable: an endpoint whose every delivery has failed for WEBHOOK_AUTO_DISABLE_AFTER_MS
 * is disabled (reason 'failing'), logged for ops, and the operator told by an
 * `endpoint.disabled` webhook to each of its other enabled endpoints. Best effort: trouble here
 * is a warning, never a change to the delivery's own outcome.
 */
export function endpointHealth(deps: ResolvedDeps) {
  const warn = (err: unknown, endpointId: string, what: string) =>
    deps.log.warn({ err, endpointId }, `webhook endpoint health: ${what}`);

  async function tellOtherEndpoints(
    operatorId: string,
    disabled: { id: string; url: string; failingSince: Date },
  ) {
    const client = deps.temporal ?? Context.current().client;
    const others = (await listWebhookEndpoints(deps.pool, operatorId)).filter(
      (e) => e.enabled && e.id !== disabled.id,
    );
    const since = disabled.failingSince.toISOString();
    const message: WebhookMessage = {
      type: 'endpoint.disabled',
      timestamp: deps.now().toISOString(),
      data: { endpointId: disabled.id, url: disabled.url, reason: 'failing', failingSince: since },
    };
    for (const other of others) {
      // One notice per disabling and endpoint, whoever asks: the workflow ID says which.
      await client.workflow.start('resendWebhookMessage', {
        taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
        workflowId: `webhook-notice:${disabled.id}:${since}:${other.id}`,
        workflowIdConflictPolicy: 'USE_EXISTING',
        priority: operatorPriority(operatorId),
        args: [
          {
            operatorId,
            endpointId: other.id,
            messageId: `endpoint.disabled/${disabled.id}/${since}`,
            message,
          },
        ],
      });
    }
  }

  return {
    async delivered(endpointId: string): Promise<void> {
      await markEndpointDelivered(deps.pool, endpointId).catch((err: unknown) =>
        warn(err, endpointId, 'not marked'),
      );
    },

    /** A delivery gave up; `since`: when its first attempt was scheduled. */
    async gaveUp(operatorId: string, endpointId: string, since: Date): Promise<void> {
      try {
        const marked = await markEndpointFailing(
          deps.pool,
          endpointId,
          since,
          deps.config.WEBHOOK_AUTO_DISABLE_AFTER_MS,
        );
        if (!marked?.disabled || !marked.endpoint.failingSince) return;
        deps.log.warn(
          { operatorId, endpointId, failingSince: marked.endpoint.failingSince.toISOString() },
          'webhook endpoint disabled: every delivery has failed for WEBHOOK_AUTO_DISABLE_AFTER_MS',
        );
        await tellOtherEndpoints(operatorId, {
          id: endpointId,
          url: marked.endpoint.url,
          failingSince: marked.endpoint.failingSince,
        });
      } catch (err) {
        warn(err, endpointId, 'auto-disable check failed');
      }
    },
  };
}
