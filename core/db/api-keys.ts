import type { Queryable } from './pool';

export interface ApiKeyRow {
  id: string;
  operator_id: string;
  display_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

export interface KeyOwner {
  key_hash: Buffer;
  operator_id: string;
  operator_mode: 'live' | 'test';
  template_id: string | null;
  rate_limit_per_minute: number | null;
}

export async function insertApiKey(
  db: Queryable,
  k: { id: string; operatorId: string; hash: Buffer; displayPrefix: string },
): Promise<ApiKeyRow> {
  const { rows } = await db.query<ApiKeyRow>(
    `insert into api_keys (id, operator_id, key_hash, display_prefix) values ($1, $2, $3, $4)
     returning id, operator_id, display_prefix, created_at, revoked_at`,
    [k.id, k.operatorId, k.hash, k.displayPrefix],
  );
  return rows[0]!;
}

/** The active operator owning an unrevoked key with this hash, if any. */
export async function findKeyOwner(db: Queryable, hash: Buffer): Promise<KeyOwner | undefined> {
  const { rows } = await db.query<KeyOwner>(
    `select k.key_hash, o.id as operator_id, o.mode as operator_mode, o.template_id, o.rate_limit_per_minute
       from api_keys k join operators o on o.id = k.operator_id
      where k.key_hash = $1 and k.revoked_at is null and o.status = 'active'`,
    [hash],
  );
  return rows[0];
}

export async function listApiKeys(db: Queryable, operatorId: string): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `select id, operator_id, display_prefix, created_at, revoked_at
       from api_keys where operator_id = $1 order by created_at, id`,
    [operatorId],
  );
  return rows;
}

export type RevokeResult = 'revoked' | 'not_found' | 'already_revoked' | 'last_active_key';

/**
 * Revokes a key unless it is its operator's last active one. The operator row is locked
 * so two concurrent revocations cannot both pass the "another key remains" check.
 */
export async function revokeApiKey(db: Queryable, keyId: string): Promise<RevokeResult> {
  const { rows } = await db.query<{ operator_id: string; revoked_at: Date | null }>(
    `select k.operator_id, k.revoked_at from api_keys k
       join operators o on o.id = k.operator_id
      where k.id = $1 for update of o`,
    [keyId],
  );
  const key = rows[0];
  if (!key) return 'not_found';
  if (key.revoked_at) return 'already_revoked';
  const others = await db.query<{ n: number }>(
    `select count(*)::int as n from api_keys where operator_id = $1 and id <> $2 and revoked_at is null`,
    [key.operator_id, keyId],
  );
  if ((others.rows[0]?.n ?? 0) === 0) return 'last_active_key';
  await db.query('update api_keys set revoked_at = now() where id = $1', [keyId]);
  return 'revoked';
}
