import type { Queryable } from '../db/pool';

export type Claim = { kind: 'claimed' } | { kind: 'held'; requestHash: string; response: unknown };

/**
 * Claims an Idempotency-Key for this request inside the caller's transaction, reclaiming
 * a key whose 24 hours are over. If another transaction holds it, this waits for that one
 * to finish (unique index) and then reports what it stored.
 */
export async function claimIdempotencyKey(
  tx: Queryable,
  operatorId: string,
  scope: string,
  key: string,
  hash: string,
  resourceId: string,
): Promise<Claim> {
  const claimed = await tx.query(
    `insert into idempotency_keys (operator_id, scope, idem_key, request_hash, resource_id, expires_at)
     values ($1, $2, $3, $4, $5, now() + interval '24 hours')
     on conflict (operator_id, scope, idem_key) do update
        set request_hash = excluded.request_hash, resource_id = excluded.resource_id, response = null,
            created_at = now(), expires_at = excluded.expires_at
      where idempotency_keys.expires_at <= now()
     returning 1`,
    [operatorId, scope, key, hash, resourceId],
  );
  if (claimed.rowCount === 1) return { kind: 'claimed' };
  const { rows } = await tx.query<{ request_hash: string; response: unknown }>(
    `select request_hash, response from idempotency_keys where operator_id = $1 and scope = $2 and idem_key = $3`,
    [operatorId, scope, key],
  );
  const row = rows[0]!;
  return { kind: 'held', requestHash: row.request_hash, response: row.response };
}

export async function saveIdempotentResponse(
  tx: Queryable,
  operatorId: string,
  scope: string,
  key: string,
  response: unknown,
): Promise<void> {
  await tx.query(
    `update idempotency_keys set response = $4 where operator_id = $1 and scope = $2 and idem_key = $3`,
    [operatorId, scope, key, JSON.stringify(response)],
  );
}
