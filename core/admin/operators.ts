import { insertApiKey, listApiKeys, revokeApiKey, type RevokeResult } from '../db/api-keys';
import {
  getOperator,
  insertOperator,
  listOperators,
  setOperatorRateLimit,
  setOperatorStatus,
  type RetentionPolicy,
} from '../db/operators';
import { withTransaction, type Db } from '../db/pool';
import { listWebhookEndpoints, type WebhookEndpoint } from '../db/webhooks';
import { newKeyId, newOperatorId } from '../ids';
import { generateApiKey, type KeyMode } from '../security/api-keys';
import { IGAMING_TEMPLATE } from '../template/igaming';

/** Admin operations behind the CLI (the hosted product's platform API, here). */
export async function createOperator(
  db: Db,
  o: { name: string; mode: KeyMode; withTemplate: boolean },
): Promise<{
  operatorId: string;
  name: string;
  mode: KeyMode;
  templateId: string | null;
  apiKey: string;
  keyId: string;
}> {
  return withTransaction(db, async (tx) => {
    const op = await insertOperator(tx, {
      id: newOperatorId(),
      name: o.name,
      mode: o.mode,
      templateId: o.withTemplate ? IGAMING_TEMPLATE.id : null,
    });
    const key = generateApiKey(o.mode);
    const row = await insertApiKey(tx, {
      id: newKeyId(),
      operatorId: op.id,
      hash: key.hash,
      displayPrefix: key.displayPrefix,
    });
    return {
      operatorId: op.id,
      name: op.name,
      mode: op.mode,
      templateId: op.template_id,
      apiKey: key.plaintext,
      keyId: row.id,
    };
  });
}

export async function createKey(db: Db, operatorId: string, mode: KeyMode) {
  const key = generateApiKey(mode);
  const row = await insertApiKey(db, {
    id: newKeyId(),
    operatorId,
    hash: key.hash,
    displayPrefix: key.displayPrefix,
  });
  return { keyId: row.id, operatorId, apiKey: key.plaintext };
}

export const revokeKey = (db: Db, keyId: string): Promise<RevokeResult> =>
  withTransaction(db, (tx) => revokeApiKey(tx, keyId));
export const suspendOperator = (db: Db, id: string) => setOperatorStatus(db, id, 'suspended');
export const activateOperator = (db: Db, id: string) => setOperatorStatus(db, id, 'active');
export { listApiKeys, listOperators };

/** The stored value of a `set-rate-limit` argument: null = default, 0 = unlimited. */
export function parseRateLimit(arg: string): { perMinute: number | null } | { problem: string } {
  if (arg === 'default') return { perMinute: null };
  if (arg === 'unlimited') return { perMinute: 0 };
  // The column is a Postgres integer; 0 is spelt 'unlimited' so that a typo cannot lift the limit.
  if (/^[1-9][0-9]{0,9}$/.test(arg) && Number(arg) <= 2_147_483_647) return { perMinute: Number(arg) };
  return {
    problem: `"${arg}" is not a rate limit: give requests per minute (a whole number from 1), "default" or "unlimited"`,
  };
}

export const setRateLimit = (db: Db, operatorId: string, perMinute: number | null) =>
  setOperatorRateLimit(db, operatorId, perMinute);

export interface RateLimitView {
  /** The stored override: null = the API's default, 0 = unlimited. */
  perMinute: number | null;
  /** What the API applies, given the default it runs with. null = unlimited. */
  effectivePerMinute: number | null;
  source: 'operator' | 'default';
}

export function rateLimitView(perMinute: number | null, defaultPerMinute: number): RateLimitView {
  const effective = perMinute ?? defaultPerMinute;
  return {
    perMinute,
    effectivePerMinute: effective === 0 ? null : effective,
    source: perMinute === null ? 'default' : 'operator',
  };
}

export interface OperatorDetails {
  operatorId: string;
  name: string;
  mode: KeyMode;
  status: 'active' | 'suspended';
  createdAt: string;
  templateId: string | null;
  dataRetentionDays: number | null;
  retentionPolicy: RetentionPolicy | null;
  rateLimit: RateLimitView;
  /** Key identities only: a key's secret is shown once at creation and never stored. */
  keys: { keyId: string; prefix: string; createdAt: string; revokedAt: string | null }[];
  /** The shorthand endpoint (PUT /webhooks) without its signing secret; kept for scripts that read it. */
  webhook: { url: string; eventFilter: string[] } | null;
  /** Every webhook endpoint of the operator, oldest first, without secrets. */
  webhookEndpoints: WebhookEndpointView[];
}

export interface WebhookEndpointView {
  id: string;
  url: string;
  description: string;
  eventFilter: string[];
  enabled: boolean;
  /** 'failing' when disabled automatically. */
  disabledReason: string | null;
  failingSince: string | null;
  shorthand: boolean;
  rateLimitPerSecond: number | null;
}

const endpointView = (e: WebhookEndpoint): WebhookEndpointView => ({
  id: e.id,
  url: e.url,
  description: e.description,
  eventFilter: e.eventFilter,
  enabled: e.enabled,
  disabledReason: e.disabledReason,
  failingSince: e.failingSince?.toISOString() ?? null,
  shorthand: e.shorthand,
  rateLimitPerSecond: e.rateLimitPerSecond,
});

/** Everything an operator is configured with, for `operators show`; no secrets. */
export async function describeOperator(
  db: Db,
  operatorId: string,
  defaultRateLimit: number,
): Promise<OperatorDetails | undefined> {
  const op = await getOperator(db, operatorId);
  if (!op) return undefined;
  const [keys, endpoints] = await Promise.all([
    listApiKeys(db, operatorId),
    listWebhookEndpoints(db, operatorId),
  ]);
  const webhook = endpoints.find((e) => e.shorthand);
  return {
    operatorId: op.id,
    name: op.name,
    mode: op.mode,
    status: op.status,
    createdAt: op.created_at.toISOString(),
    templateId: op.template_id,
    dataRetentionDays: op.data_retention_days,
    retentionPolicy: op.retention_policy,
    rateLimit: rateLimitView(op.rate_limit_per_minute, defaultRateLimit),
    keys: keys.map((k) => ({
      keyId: k.id,
      prefix: k.display_prefix,
      createdAt: k.created_at.toISOString(),
      revokedAt: k.revoked_at?.toISOString() ?? null,
    })),
    webhook: webhook ? { url: webhook.url, eventFilter: webhook.eventFilter } : null,
    webhookEndpoints: endpoints.map(endpointView),
  };
}
