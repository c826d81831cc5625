import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { getOperator } from '../db/operators';
import { PgCode, type Queryable } from '../db/pool';
import {
  deleteProviderConnection,
  findOperatorProviderConnection,
  findProviderConnection,
  insertProviderConnection,
  listProviderConnections,
  newProviderConnectionId,
  rotateProviderConnection,
  type ProviderConnectionRow,
} from '../db/provider-connections';
import { apiError } from '../errors';
import { CREDENTIALS } from '../kyc-providers/credentials';
import type { KycProviderName } from '../security/provider-signatures';
import type { PiiCipher } from '../security/pii';
import { webhookUrlProblem } from '../security/webhook-destination';

/**
 * One KYC provider connection per operator: which provider, its API credentials, the secret
 * its webhooks are signed with. Secrets are sealed before they reach SQL and opened only for
 * the KYC activities and for verifying a delivery; no answer, CLI output or log line carries
 * them after the one that created (or rotated) them.
 */
export interface ConnectionDeps {
  pool: Pool;
  pii: PiiCipher;
}

export interface ConnectionPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: a provider base URL may then be http and private (local stack, tests). */
  allowPrivateNetworks: boolean;
  /** How long a rotated-out webhook secret still verifies deliveries. */
  secretGraceMs: number;
}

export interface NewProviderConnection {
  operatorId: string;
  provider: KycProviderName;
  credentials: Record<string, string>;
  settings: Record<string, unknown>;
  /** Generated when omitted (not for Onfido, whose webhook token Onfido issues). */
  webhookSecret?: string;
  baseUrl?: string;
}

/** What may be shown of a connection: never a credential or a secret. */
export interface ProviderConnectionView {
  id: string;
  provider: KycProviderName;
  baseUrl: string | null;
  settings: Record<string, unknown>;
  /** Where the provider must send its webhooks, relative to the API's public address. */
  webhookPath: string;
  createdAt: Date;
  rotatedAt: Date | null;
  previousWebhookSecretExpiresAt: Date | null;
}

/** A connection with its secrets opened: for the KYC activities and the webhook receiver only. */
export interface OpenedProviderConnection extends ProviderConnectionView {
  operatorId: string;
  credentials: Record<string, string>;
  /** The current secret first, then the previous one while its grace lasts. */
  webhookSecrets: string[];
}

export const providerWebhookPath = (provider: KycProviderName, id: string) =>
  `/operator-data-api/providers/${provider}/webhooks/${id}`;

const newWebhookSecret = () => randomBytes(32).toString('base64url');

const purpose = (id: string, field: 'credentials' | 'webhook_secret') => `provider_connection:${id}:${field}`;

export function connectionView(c: ProviderConnectionRow): ProviderConnectionView {
  return {
    id: c.id,
    provider: c.provider,
    baseUrl: c.baseUrl,
    settings: c.settings,
    webhookPath: providerWebhookPath(c.provider, c.id),
    createdAt: c.createdAt,
    rotatedAt: c.rotatedAt,
    previousWebhookSecretExpiresAt: c.previousWebhookSecretExpiresAt,
  };
}

export function openConnection(
  pii: PiiCipher,
  c: ProviderConnectionRow,
  now: Date,
): OpenedProviderConnection {
  const secrets = [pii.openSecret(c.operatorId, purpose(c.id, 'webhook_secret'), c.webhookSecret)];
  if (c.previousWebhookSecret && c.previousWebhookSecretExpiresAt && c.previousWebhookSecretExpiresAt > now) {
    secrets.push(pii.openSecret(c.operatorId, purpose(c.id, 'webhook_secret'), c.previousWebhookSecret));
  }
  return {
    ...connectionView(c),
    operatorId: c.operatorId,
    credentials: JSON.parse(
      pii.openSecret(c.operatorId, purpose(c.id, 'credentials'), c.credentials),
    ) as Record<string, string>,
    webhookSecrets: secrets,
  };
}

const notFound = (id: string) => apiError({ code: 'NOT_FOUND', message: `No provider connection ${id}` });

function assertAcceptableBaseUrl(url: string | undefined, allowPrivateNetworks: boolean): void {
  const problem = url === undefined ? undefined : webhookUrlProblem(url, allowPrivateNetworks);
  if (problem) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `baseUrl ${problem}`,
      details: [{ field: 'baseUrl', reason: problem }],
    });
  }
}

export async function createConnection(
  deps: ConnectionDeps,
  policy: ConnectionPolicy,
  c: NewProviderConnection,
): Promise<{ connection: ProviderConnectionView; webhookSecret: string }> {
  assertAcceptableBaseUrl(c.baseUrl, policy.allowPrivateNetworks);
  if (c.provider === 'onfido' && !c.webhookSecret) {
    throw apiError({
      code: 'MISSING_FIELDS',
      message: 'Missing required field: webhookSecret (the token Onfido issued for your webhook)',
      details: [{ field: 'webhookSecret', reason: 'is required for onfido' }],
    });
  }
  const id = newProviderConnectionId();
  const webhookSecret = c.webhookSecret ?? newWebhookSecret();
  const row = await insertProviderConnection(deps.pool, {
    id,
    operatorId: c.operatorId,
    provider: c.provider,
    baseUrl: c.baseUrl ?? null,
    settings: c.settings,
    credentials: deps.pii.sealSecret(c.operatorId, purpose(id, 'credentials'), JSON.stringify(c.credentials)),
    webhookSecret: deps.pii.sealSecret(c.operatorId, purpose(id, 'webhook_secret'), webhookSecret),
  }).catch((err: { code?: string }) => {
    if (err.code !== PgCode.UNIQUE_VIOLATION) throw err;
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: 'This operator already has a provider connection; rotate it or delete it first',
      details: [{ field: 'provider', reason: 'one connection per operator' }],
    });
  });
  return { connection: connectionView(row), webhookSecret };
}

export async function listConnections(
  deps: ConnectionDeps,
  operatorId: string,
): Promise<ProviderConnectionView[]> {
  return (await listProviderConnections(deps.pool, operatorId)).map(connectionView);
}

export async function requireConnection(
  deps: ConnectionDeps,
  operatorId: string,
  id: string,
): Promise<ProviderConnectionView> {
  const row = await findProviderConnection(deps.pool, operatorId, id);
  if (!row) throw notFound(id);
  return connectionView(row);
}

/**
 * New credentials, a new webhook secret, or both. `newWebhookSecret: true` generates one (not
 * for Onfido); the old one verifies deliveries for the grace period.
 */
export async function rotateConnection(
  deps: ConnectionDeps,
  policy: ConnectionPolicy,
  r: {
    operatorId: string;
    id: string;
    credentials?: Record<string, string>;
    webhookSecret?: string;
    generateWebhookSecret?: boolean;
    now: Date;
  },
): Promise<{ connection: ProviderConnectionView; webhookSecret?: string }> {
  const existing = await findProviderConnection(deps.pool, r.operatorId, r.id);
  if (!existing) throw notFound(r.id);
  const credentials = r.credentials && CREDENTIALS[existing.provider].safeParse(r.credentials);
  if (credentials && !credentials.success) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `credentials do not fit a ${existing.provider} connection`,
      details: credentials.error.issues.map((i) => ({
        field: ['credentials', ...i.path].join('.'),
        reason: i.message,
      })),
    });
  }
  if (r.generateWebhookSecret && existing.provider === 'onfido') {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: 'Onfido issues the webhook token: give it as webhookSecret',
      details: [{ field: 'webhookSecret', reason: 'cannot be generated for onfido' }],
    });
  }
  const secret = r.webhookSecret ?? (r.generateWebhookSecret ? newWebhookSecret() : undefined);
  const row = await rotateProviderConnection(deps.pool, {
    operatorId: r.operatorId,
    id: r.id,
    credentials: r.credentials
      ? deps.pii.sealSecret(r.operatorId, purpose(r.id, 'credentials'), JSON.stringify(r.credentials))
      : undefined,
    webhookSecret: secret
      ? deps.pii.sealSecret(r.operatorId, purpose(r.id, 'webhook_secret'), secret)
      : undefined,
    previousSecretExpiresAt: new Date(r.now.getTime() + policy.secretGraceMs),
  });
  if (!row) throw notFound(r.id);
  return { connection: connectionView(row), webhookSecret: secret };
}

export async function removeConnection(deps: ConnectionDeps, operatorId: string, id: string): Promise<void> {
  if (!(await deleteProviderConnection(deps.pool, operatorId, id))) throw notFound(id);
}

export type KycConnectionResolution =
  | { kind: 'connection'; connection: OpenedProviderConnection }
  /** A test-mode operator without a connection: the local sandbox provider answers. */
  | { kind: 'local_sandbox' }
  /** A live operator without a connection: no check can be made; the definition raises the alert. */
  | { kind: 'not_configured'; alert: 'kyc_not_configured'; message: string };

/**
 * Which provider the operator's KYC checks go to. The rule: its connection if it has one; else
 * the local sandbox for a test-mode operator (`oh_test_` keys); else, live, "KYC not
 * configured" (a value, not an error: the caller decides how to alert; retrying cannot help).
 */
export async function resolveKycConnection(
  db: Queryable,
  pii: PiiCipher,
  operatorId: string,
  now: Date,
): Promise<KycConnectionResolution> {
  const row = await findOperatorProviderConnection(db, operatorId);
  if (row) return { kind: 'connection', connection: openConnection(pii, row, now) };
  const operator = await getOperator(db, operatorId);
  if (operator?.mode === 'test') return { kind: 'local_sandbox' };
  return {
    kind: 'not_configured',
    alert: 'kyc_not_configured',
    message: `Operator ${operatorId} has no KYC provider connection: KYC is not configured`,
  };
}
