import { randomBytes } from 'node:crypto';
import type { KycProviderName } from '../security/provider-signatures';
import type { Queryable } from './pool';

/** A provider connection as stored: its secrets still sealed (core/security/pii.ts sealSecret). */
export interface ProviderConnectionRow {
  id: string;
  operatorId: string;
  provider: KycProviderName;
  baseUrl: string | null;
  settings: Record<string, unknown>;
  credentials: Buffer;
  webhookSecret: Buffer;
  previousWebhookSecret: Buffer | null;
  previousWebhookSecretExpiresAt: Date | null;
  createdAt: Date;
  rotatedAt: Date | null;
}

export const newProviderConnectionId = (): string => 'pcn_' + randomBytes(8).toString('hex');

const COLUMNS = `id, operator_id, provider, base_url, settings, credentials, webhook_secret,
  previous_webhook_secret, previous_webhook_secret_expires_at, created_at, rotated_at`;

interface Row {
  id: string;
  operator_id: string;
  provider: KycProviderName;
  base_url: string | null;
  settings: Record<string, unknown>;
  credentials: Buffer;
  webhook_secret: Buffer;
  previous_webhook_secret: Buffer | null;
  previous_webhook_secret_expires_at: Date | null;
  created_at: Date;
  rotated_at: Date | null;
}

const fromRow = (r: Row): ProviderConnectionRow => ({
  id: r.id,
  operatorId: r.operator_id,
  provider: r.provider,
  baseUrl: r.base_url,
  settings: r.settings,
  credentials: r.credentials,
  webhookSecret: r.webhook_secret,
  previousWebhookSecret: r.previous_webhook_secret,
  previousWebhookSecretExpiresAt: r.previous_webhook_secret_expires_at,
  createdAt: r.created_at,
  rotatedAt: r.rotated_at,
});

/** Inserts the operator's connection; a second one for the same operator is a unique violation (23505). */
export async function insertProviderConnection(
  db: Queryable,
  c: Pick<
    ProviderConnectionRow,
    'id' | 'operatorId' | 'provider' | 'baseUrl' | 'settings' | 'credentials' | 'webhookSecret'
  >,
): Promise<ProviderConnectionRow> {
  const { rows } = await db.query<Row>(
    `insert into provider_connections (id, operator_id, provider, base_url, settings, credentials, webhook_secret)
     values ($1, $2, $3, $4, $5, $6, $7) returning ${COLUMNS}`,
    [c.id, c.operatorId, c.provider, c.baseUrl, c.settings, c.credentials, c.webhookSecret],
  );
  return fromRow(rows[0]!);
}

export async function findProviderConnection(
  db: Queryable,
  operatorId: string,
  id: string,
): Promise<ProviderConnectionRow | undefined> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from provider_connections where operator_id = $1 and id = $2`,
    [operatorId, id],
  );
  return rows[0] && fromRow(rows[0]);
}

/** The connection an inbound webhook names, whoever owns it (the signature then decides). */
export async function findProviderConnectionById(
  db: Queryable,
  id: string,
): Promise<ProviderConnectionRow | undefined> {
  const { rows } = await db.query<Row>(`select ${COLUMNS} from provider_connections where id = $1`, [id]);
  return rows[0] && fromRow(rows[0]);
}

/** The operator's connection (at most one), for the KYC activities. */
export async function findOperatorProviderConnection(
  db: Queryable,
  operatorId: string,
): Promise<ProviderConnectionRow | undefined> {
  const { rows } = await db.query<Row>(`select ${COLUMNS} from provider_connections where operator_id = $1`, [
    operatorId,
  ]);
  return rows[0] && fromRow(rows[0]);
}

export async function listProviderConnections(
  db: Queryable,
  operatorId: string,
): Promise<ProviderConnectionRow[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from provider_connections where operator_id = $1 order by created_at, id`,
    [operatorId],
  );
  return rows.map(fromRow);
}

/**
 * Replaces the credentials and/or the webhook secret. A replaced webhook secret keeps
 * verifying until `previousSecretExpiresAt` (deliveries the provider signed before the change
 * may still be resent). Undefined when the operator has no such connection.
 */
export async function rotateProviderConnection(
  db: Queryable,
  r: {
    operatorId: string;
    id: string;
    credentials?: Buffer;
    webhookSecret?: Buffer;
    previousSecretExpiresAt: Date;
  },
): Promise<ProviderConnectionRow | undefined> {
  const { rows } = await db.query<Row>(
    `update provider_connections
        set credentials = coalesce($3, credentials),
            previous_webhook_secret = case when $4::bytea is null then previous_webhook_secret else webhook_secret end,
            previous_webhook_secret_expires_at =
              case when $4::bytea is null then previous_webhook_secret_expires_at else $5 end,
            webhook_secret = coalesce($4, webhook_secret),
            rotated_at = now()
      where operator_id = $1 and id = $2
     returning ${COLUMNS}`,
    [r.operatorId, r.id, r.credentials ?? null, r.webhookSecret ?? null, r.previousSecretExpiresAt],
  );
  return rows[0] && fromRow(rows[0]);
}

export async function deleteProviderConnection(
  db: Queryable,
  operatorId: string,
  id: string,
): Promise<boolean> {
  const { rowCount } = await db.query('delete from provider_connections where operator_id = $1 and id = $2', [
    operatorId,
    id,
  ]);
  return (rowCount ?? 0) > 0;
}
