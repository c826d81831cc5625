import {
  ApplicationFailure,
  TemporalFailure,
  log,
  proxyActivities,
  setWorkflowOptions,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WebhookMessage } from '../activities/webhooks/activities';
import { DATABASE_ACTIVITY, WEBHOOK_DELIVERY } from './activity-options';
import { operatorPriority } from './fairness';
import { definitionNamed } from './catalog';
import type { Alert, Definition, DefinitionContext } from './definition';
import { FailedDefinitions } from './search-attributes';
import type { DefinitionRun, EventWorkflowInput, FanoutInput, FanoutResult } from './types';
import { DefinitionCancelled, Waits } from './waits';

/**
 * The workflow of one event (ID `entity_event.<type>:<eventId>` for recorded events): runs
 * the definitions of its plan — fixed when the event was recorded, also in the `Definitions`
 * search attribute — each as a branch of activities, in parallel. One failing definition does
 * not stop the others; it is named in `FailedDefinitions` so a query finds it. With an empty
 * plan the workflow completes at once: one Temporal Action for the event.
 */
export async function processEvent(input: EventWorkflowInput): Promise<FanoutResult> {
  const planned = input.definitions.map(definitionNamed);
  const failed: string[] = [];
  const waits = new Waits(input);
  const runs = await Promise.all(
    planned.map(async (def): Promise<DefinitionRun> => {
      const ctx = contextFor(def, input, waits);
      try {
        return { definition: def.name, status: 'completed', result: await def.run(input, ctx) };
      } catch (err) {
        // A later event ended its waits: its cleanup runs, and it is not a failure.
        if (err instanceof DefinitionCancelled) return cancelled(def, input, ctx, err);
        // Anything else is a bug in workflow code: it fails the task, to be fixed and redeployed.
        if (!(err instanceof TemporalFailure)) throw err;
        failed.push(def.name);
        upsertSearchAttributes([{ key: FailedDefinitions, value: [...failed] }]);
        const failure = describeFailure(err);
        log.warn('definition failed', { definition: def.name, ...failure });
        return { definition: def.name, status: 'failed', ...failure };
      }
    }),
  );
  const cancelledCount = runs.filter((r) => r.status === 'cancelled').length;
  log.debug('event processed', { definitions: input.definitions.length, failed: failed.length });
  return {
    internalEvent: input.internalEvent,
    matched: runs.length,
    completed: runs.length - failed.length - cancelledCount,
    failed: failed.length,
    cancelled: cancelledCount,
    runs,
  };
}

/**
 * A definition ended by a later event: its cleanup step runs (a failure there is a failure of
 * the definition), and the run is reported as cancelled, with what cancelled it.
 */
async function cancelled(
  def: Definition,
  input: FanoutInput,
  ctx: DefinitionContext,
  err: DefinitionCancelled,
): Promise<DefinitionRun> {
  const by = { internalEvent: err.event.internalEvent, eventId: err.event.eventId ?? null, at: err.event.at };
  log.info('definition cancelled', { definition: def.name, by: by.internalEvent });
  try {
    const cleanup = def.onCancel ? await def.onCancel(input, ctx, err.event) : undefined;
    return { definition: def.name, status: 'cancelled', result: { cancelledBy: by, cleanup } };
  } catch (cleanupErr) {
    if (!(cleanupErr instanceof TemporalFailure)) throw cleanupErr;
    return {
      definition: def.name,
      status: 'failed',
      ...describeFailure(cleanupErr),
      result: { cancelledBy: by },
    };
  }
}

/** The failure an activity gave up with (an ActivityFailure's cause), its message and type. */
function describeFailure(err: TemporalFailure): { error: string; errorType?: string } {
  const root = err.cause ?? err;
  const type = root instanceof ApplicationFailure ? root.type : undefined;
  return { error: root.message, ...(type ? { errorType: type } : {}) };
}

function contextFor(def: Definition, input: FanoutInput, waits: Waits): DefinitionContext {
  const workflowId = workflowInfo().workflowId;
  // Labels every activity of this definition in the UI (the activity's summary).
  const priority = operatorPriority(input.operatorId);
  // Every step first clears the search attributes of a wait that closed (Waits.flush).
  const stepping = <T extends object>(proxy: T): T =>
    new Proxy(proxy, {
      get: (target, key) => {
        const call: unknown = Reflect.get(target, key);
        if (typeof call !== 'function') return call;
        return (...args: unknown[]): unknown => {
          waits.flush();
          return (call as (...a: unknown[]) => unknown)(...args);
        };
      },
    });
  const activities = (options: ActivityOptions = DATABASE_ACTIVITY) =>
    stepping(proxyActivities<Activities>({ ...options, summary: def.name, priority }));
  let alerts = 0;
  const deliver = async (kind: 'alert' | 'event', message: WebhookMessage): Promise<string> => {
    // Stable across attempts (the receiver's idempotency key) and unique per message: a
    // definition's second and later alerts (a reminder, an escalation) are numbered.
    const n = kind === 'alert' ? ++alerts : 1;
    const messageId = `${workflowId}/${def.name}/${kind === 'alert' ? 'alert' : 'webhook'}${n > 1 ? `-${n}` : ''}`;
    const { deliverWebhookMessage } = stepping(
      proxyActivities<Activities>({
        ...WEBHOOK_DELIVERY,
        summary: `${def.name}: webhook ${message.type}`,
        priority,
      }),
    );
    // Fixed when the event was recorded (no Action spent here); looked up only for workflows
    // whose input does not carry them (re-drives, entity and state changes).
    const planned = input.webhooks?.[kind === 'alert' ? 'alert' : 'forward'];
    const targets =
      planned ??
      (await activities().webhookTargets({
        operatorId: input.operatorId,
        kind,
        internalEvent: input.internalEvent,
      }));
    // One activity per endpoint, so each retries (and gives up) on its own; all are awaited
    // before a failure is reported, or ending the workflow would cancel the others' retries.
    const sent = await Promise.allSettled(
      targets.map((endpointId) =>
        deliverWebhookMessage({
          operatorId: input.operatorId,
          endpointId,
          // One message, one id at every endpoint (as Svix does): a receiver behind two
          // endpoints can tell it is the same message.
          messageId,
          message,
        }),
      ),
    );
    const failure = sent.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    return messageId;
  };
  return {
    name: def.name,
    activities,
    alert: (alert) => deliver('alert', alertMessage(input, alert, workflowId)),
    forward: () => deliver('event', forwardedMessage(input)),
    waitFor: (options) => {
      // A bug in the definition, not in the event: fails the workflow task until it is fixed.
      if (!def.waits)
        throw new Error(`Definition "${def.name}" calls ctx.waitFor but does not declare waits: true`);
      return waits.waitFor(def.name, def.cancelOn ?? [], options);
    },
  };
}

/** `alert.<kind>` about the entity of `input`. */
export function alertMessage(input: FanoutInput, alert: Alert, workflowId: string): WebhookMessage {
  return {
    type: `alert.${alert.kind}`,
    timestamp: new Date().toISOString(),
    data: {
      severity: alert.severity,
      summary: alert.summary,
      externalId: input.externalId,
      eventId: input.eventId ?? null,
      internalEvent: input.internalEvent,
      workflowId,
      details: alert.details,
    },
  };
}

/** The internal event itself, as the operator subscribed to it. */
export function forwardedMessage(input: FanoutInput): WebhookMessage {
  return {
    type: input.internalEvent,
    timestamp: input.occurredAt,
    data: {
      externalId: input.externalId,
      eventId: input.eventId ?? null,
      eventType: input.eventType ?? null,
      stateKey: input.stateKey ?? null,
      data: input.data,
    },
  };
}

// Pinned: an event's workflow finishes on the build that started it, however long its
// definitions wait, so a change to a definition's steps needs no patch
// (docs/authors/changing-safely.md). The price: a build's workers stay until none of its workflows runs.
setWorkflowOptions({ versioningBehavior: 'PINNED' }, processEvent);
