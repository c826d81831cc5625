import { randomBytes } from 'node:crypto';
import { withTransaction, type Db, type Queryable } from './pool';

/** The most endpoints one operator may have (documented in the README and the API). */
export const MAX_WEBHOOK_ENDPOINTS = 10;

export interface WebhookEndpoint {
  id: string;
  operatorId: string;
  url: string;
  description: string;
  secret: string;
  /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  eventFilter: string[];
  enabled: boolean;
  /** The endpoint `PUT /webhooks` manages (at most one per operator). */
  shorthand: boolean;
  /** Since when every delivery has failed; null once one succeeds. */
  failingSince: Date | null;
  /** 'failing' when disabled automatically. */
  disabledReason: string | null;
  /** Deliveries per second at most; null: no limit. */
  rateLimitPerSecond: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Secrets follow the Standard Webhooks form: `whsec_` + base64 of the key bytes. */
export const newWebhookSecret = (): string => 'whsec_' + randomBytes(24).toString('base64');
const newWebhookEndpointId = (): string => 'wep_' + randomBytes(8).toString('hex');

export const COLUMNS = `id, operator_id, url, description, secret, previous_secret, previous_secret_expires_at,
  event_filter, enabled, shorthand, failing_since, disabled_reason, rate_limit_per_second, created_at, updated_at`;

export interface Row {
  id: string;
  operator_id: string;
  url: string;
  description: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  event_filter: string[];
  enabled: boolean;
  shorthand: boolean;
  failing_since: Date | null;
  disabled_reason: string | null;
  rate_limit_per_second: number | null;
  created_at: Date;
  updated_at: Date;
}

export const fromRow = (r: Row): WebhookEndpoint => ({
  id: r.id,
  operatorId: r.operator_id,
  url: r.url,
  description: r.description,
  secret: r.secret,
  previousSecret: r.previous_secret,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  eventFilter: r.event_filter,
  enabled: r.enabled,
  shorthand: r.shorthand,
  failingSince: r.failing_since,
  disabledReason: r.disabled_reason,
  rateLimitPerSecond: r.rate_limit_per_second,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface NewWebhookEndpoint {
  operatorId: string;
  url: string;
  description?: string;
  secret?: string;
  eventFilter: string[];
  enabled?: boolean;
  rateLimitPerSecond?: number | null;
}

export class TooManyWebhookEndpointsError extends Error {
  override name = 'TooManyWebhookEndpointsError';
}

/**
 * Locks the operator's row so two concurrent creations cannot both pass the count; throws
 * TooManyWebhookEndpointsError at the maximum.
 */
async function assertRoomForOne(db: Queryable, operatorId: string): Promise<void> {
  await db.query('select 1 from operators where id = $1 for update', [operatorId]);
  const { rows } = await db.query<{ n: number }>(
    'select count(*)::int as n from webhook_endpoints where operator_id = $1',
    [operatorId],
  );
  if ((rows[0]?.n ?? 0) >= MAX_WEBHOOK_ENDPOINTS) {
    throw new TooManyWebhookEndpointsError(`at most ${MAX_WEBHOOK_ENDPOINTS} endpoints per operator`);
  }
}

async function insertEndpoint(db: Queryable, e: NewWebhookEndpoint, shorthand: boolean) {
  const { rows } = await db.query<Row>(
    `insert into webhook_endpoints
            (id, operator_id, url, description, secret, event_filter, enabled, shorthand, rate_limit_per_second)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${COLUMNS}`,
    [
      newWebhookEndpointId(),
      e.operatorId,
      e.url,
      e.description ?? '',
      e.secret ?? newWebhookSecret(),
      e.eventFilter,
      e.enabled ?? true,
      shorthand,
      e.rateLimitPerSecond ?? null,
    ],
  );
  return fromRow(rows[0]!);
}

export async function createWebhookEndpoint(pool: Db, e: NewWebhookEndpoint): Promise<WebhookEndpoint> {
  return withTransaction(pool, async (tx) => {
    await assertRoomForOne(tx, e.operatorId);
    return insertEndpoint(tx, e, false);
  });
}

/**
 * `PUT /webhooks`: replaces the shorthand endpoint's URL, filter and secret (a new one when
 * none is given: replaced at once, unlike a rotation), or creates it.
 */
export async function upsertWebhookEndpoint(
  pool: Db,
  w: { operatorId: string; url: string; secret?: string; eventFilter: string[] },
): Promise<WebhookEndpoint> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<Row>(
      `update webhook_endpoints
          set url = $2, secret = $3, event_filter = $4, previous_secret = null,
              previous_secret_expires_at = null, updated_at = now()
        where operator_id = $1 and shorthand
       returning ${COLUMNS}`,
      [w.operatorId, w.url, w.secret ?? newWebhookSecret(), w.eventFilter],
    );
    if (rows[0]) return fromRow(rows[0]);
    await assertRoomForOne(tx, w.operatorId);
    return insertEndpoint(tx, w, true);
  });
}

/** The endpoint `PUT /webhooks` manages, if any. */
export async function getWebhookEndpoint(
  db: Queryable,
  operatorId: string,
): Promise<WebhookEndpoint | undefined> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from webhook_endpoints where operator_id = $1 and shorthand`,
    [operatorId],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function findWebhookEndpoint(
  db: Queryable,
  operatorId: string,
  id: string,
): Promise<WebhookEndpoint | undefined> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from webhook_endpoints where operator_id = $1 and id = $2`,
    [operatorId, id],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listWebhookEndpoints(db: Queryable, operatorId: string): Promise<WebhookEndpoint[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from webhook_endpoints where operator_id = $1 order by created_at, id`,
    [operatorId],
  );
  return rows.map(fromRow);
}

export interface WebhookEndpointPatch {
  url?: string;
  description?: string;
  eventFilter?: string[];
  enabled?: boolean;
  /** null lifts the limit; undefined leaves it. */
  rateLimitPerSecond?: number | null;
}

/** Changes only the fields given; undefined when the operator has no such endpoint. */
export async function updateWebhookEndpoint(
  db: Queryable,
  operatorId: string,
  id: string,
  p: WebhookEndpointPatch,
): Promise<WebhookEndpoint | undefined> {
  const { rows } = await db.query<Row>(
    `update webhook_endpoints
        set url = coalesce($3, url), description = coalesce($4, description),
            event_filter = coalesce($5, event_filter), enabled = coalesce($6, enabled),
            -- Enabling or disabling by hand starts over: no longer failing, no automatic reason.
            failing_since = case when $6::boolean is null then failing_since end,
            disabled_reason = case when $6::boolean is null then disabled_reason end,
            rate_limit_per_second = case when $7 then $8 else rate_limit_per_second end,
            updated_at = now()
      where operator_id = $1 and id = $2
     returning ${COLUMNS}`,
    [
      operatorId,
      id,
      p.url ?? null,
      p.description ?? null,
      p.eventFilter ?? null,
      p.enabled ?? null,
      p.rateLimitPerSecond !== undefined,
      p.rateLimitPerSecond ?? null,
    ],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function deleteWebhookEndpoint(db: Queryable, operatorId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `with gone as (delete from webhook_endpoints where operator_id = $1 and id = $2 returning id),
          rate as (delete from webhook_endpoint_rate where endpoint_id in (select id from gone))
     select 1 from gone`,
    [operatorId, id],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * A new secret; the current one keeps signing for `graceMs` (deliveries carry both
 * signatures meanwhile). Only enabled endpoints rotate: undefined when there is no such
 * endpoint, 'disabled' when it is disabled.
 */
export async function rotateWebhookSecret(
  db: Queryable,
  operatorId: string,
  id: string,
  graceMs: number,
): Promise<WebhookEndpoint | 'disabled' | undefined> {
  const { rows } = await db.query<Row>(
    `update webhook_endpoints
        set previous_secret = secret, secret = $3,
            previous_secret_expires_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
      where operator_id = $1 and id = $2 and enabled
     returning ${COLUMNS}`,
    [operatorId, id, newWebhookSecret(), graceMs],
  );
  if (rows[0]) return fromRow(rows[0]);
  return (await findWebhookEndpoint(db, operatorId, id)) ? 'disabled' : undefined;
}

/**
 * The endpoints a message goes to: every one for alerts, those whose filter matches the
 * internal event for forwarded events. Enabled endpoints, and those disabled automatically:
 * their messages are kept as failed, to be recovered. The recording statement's own function
 * (webhook_targets, migration 012), so a lookup and a plan can never disagree.
 */
export async function webhookDeliveryTargets(
  db: Queryable,
  t: { operatorId: string; kind: 'alert' | 'event'; internalEvent: string },
): Promise<string[]> {
  const { rows } = await db.query<{ ids: string[] }>(`select webhook_targets($1, $2) -> $3 as ids`, [
    t.operatorId,
    t.internalEvent,
    t.kind === 'alert' ? 'alert' : 'forward',
  ]);
  return rows[0]?.ids ?? [];
}
