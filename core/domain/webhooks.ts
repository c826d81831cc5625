import { startOrJoin } from '../temporal/start-or-join';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  findWebhookEndpoint,
  MAX_WEBHOOK_ENDPOINTS,
  rotateWebhookSecret,
  TooManyWebhookEndpointsError,
  updateWebhookEndpoint,
  upsertWebhookEndpoint,
  type NewWebhookEndpoint,
  type WebhookEndpoint,
  type WebhookEndpointPatch,
} from '../db/webhooks';
import { apiError } from '../errors';
import { webhookUrlProblem } from '../security/webhook-destination';
import type { Client } from '@temporalio/client';
import type { DomainDeps } from './deps';

/** Refuses a destination the worker would refuse (same rule as at delivery), as 400 VALIDATION_FAILED. */
function assertAcceptableUrl(url: string | undefined, allowPrivateNetworks: boolean): void {
  const problem = url === undefined ? undefined : webhookUrlProblem(url, allowPrivateNetworks);
  if (problem) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `url ${problem}`,
      details: [{ field: 'url', reason: problem }],
    });
  }
}

const tooMany = (err: unknown): never => {
  if (!(err instanceof TooManyWebhookEndpointsError)) throw err;
  throw apiError({
    code: 'VALIDATION_FAILED',
    message: `At most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints per operator; delete one first`,
    details: [{ reason: `at most ${MAX_WEBHOOK_ENDPOINTS} endpoints per operator` }],
  });
};

/** Another operator's endpoint reads as absent: 404, never its data. */
const notFound = (id: string) => apiError({ code: 'NOT_FOUND', message: `No webhook endpoint ${id}` });

export interface WebhookPolicy {
  allowPrivateNetworks: boolean;
  /** How long the secret before a rotation keeps signing. */
  secretGraceMs: number;
  /** WEBHOOK_LOG_RETENTION_DAYS: how far back `recover` can reach. */
  logRetentionDays: number;
}

export async function setShorthandEndpoint(
  deps: DomainDeps,
  policy: WebhookPolicy,
  w: { operatorId: string; url: string; secret?: string; eventFilter: string[] },
): Promise<WebhookEndpoint> {
  assertAcceptableUrl(w.url, policy.allowPrivateNetworks);
  return upsertWebhookEndpoint(deps.pool, w).catch(tooMany);
}

export async function addEndpoint(
  deps: DomainDeps,
  policy: WebhookPolicy,
  e: NewWebhookEndpoint,
): Promise<WebhookEndpoint> {
  assertAcceptableUrl(e.url, policy.allowPrivateNetworks);
  return createWebhookEndpoint(deps.pool, e).catch(tooMany);
}

export async function requireEndpoint(
  deps: DomainDeps,
  operatorId: string,
  id: string,
): Promise<WebhookEndpoint> {
  const endpoint = await findWebhookEndpoint(deps.pool, operatorId, id);
  if (!endpoint) throw notFound(id);
  return endpoint;
}

export async function changeEndpoint(
  deps: DomainDeps,
  policy: WebhookPolicy,
  operatorId: string,
  id: string,
  patch: WebhookEndpointPatch,
): Promise<WebhookEndpoint> {
  assertAcceptableUrl(patch.url, policy.allowPrivateNetworks);
  const endpoint = await updateWebhookEndpoint(deps.pool, operatorId, id, patch);
  if (!endpoint) throw notFound(id);
  return endpoint;
}

export async function removeEndpoint(deps: DomainDeps, operatorId: string, id: string): Promise<void> {
  if (!(await deleteWebhookEndpoint(deps.pool, operatorId, id))) throw notFound(id);
}

export async function rotateEndpointSecret(
  deps: DomainDeps,
  policy: WebhookPolicy,
  operatorId: string,
  id: string,
): Promise<WebhookEndpoint> {
  const rotated = await rotateWebhookSecret(deps.pool, operatorId, id, policy.secretGraceMs);
  if (rotated === undefined) throw notFound(id);
  if (rotated === 'disabled') {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `Webhook endpoint ${id} is disabled; enable it before rotating its secret`,
      details: [{ field: 'enabled', reason: 'endpoint is disabled' }],
    });
  }
  return rotated;
}

/**
 * Redelivers the endpoint's failed messages since `since`, durably (workflow
 * `recoverWebhookEndpoint`, ID `webhook-recover:<endpoint>`): asked again while one runs, it
 * answers that run. `since` must be in the past and within the delivery log's retention.
 */
export async function recoverEndpoint(
  deps: DomainDeps & { temporal: Client; taskQueue: string },
  policy: WebhookPolicy,
  r: { operatorId: string; id: string; since: Date; now: Date },
): Promise<{ workflowId: string; runId: string }> {
  const endpoint = await requireEndpoint(deps, r.operatorId, r.id);
  const oldest = r.now.getTime() - policy.logRetentionDays * 86_400_000;
  const problem =
    r.since.getTime() > r.now.getTime()
      ? 'is in the future'
      : r.since.getTime() < oldest
        ? `is beyond the delivery log's retention (${policy.logRetentionDays} days)`
        : undefined;
  if (problem) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `since ${problem}`,
      details: [{ field: 'since', reason: problem }],
    });
  }
  if (!endpoint.enabled) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `Webhook endpoint ${r.id} is disabled; enable it before recovering`,
      details: [{ field: 'enabled', reason: 'endpoint is disabled' }],
    });
  }
  return startOrJoin(
    deps.temporal,
    deps.taskQueue,
    'recoverWebhookEndpoint',
    `webhook-recover:${r.id}`,
    [{ operatorId: r.operatorId, endpointId: r.id, since: r.since.toISOString() }],
    r.operatorId,
  );
}
