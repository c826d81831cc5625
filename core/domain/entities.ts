import { randomBytes } from 'node:crypto';
import { getEntity, softDeleteEntity, upsertEntity } from '../db/entities';
import { withTransaction, type Queryable } from '../db/pool';
import { apiError } from '../errors';
import { newEntityId } from '../ids';
import { ownEntry, type Template } from '../template/igaming';
import { validateEntityData } from '../template/validate';
import type { DomainDeps } from './deps';
import { entityNotFound } from './events';
import { claimIdempotencyKey, saveIdempotentResponse } from './idempotency';
import { requestHash } from './request-hash';

export interface EntityInput {
  entityType: string;
  externalId: string;
  data: Record<string, unknown>;
}

/** Id of one internal event (entity.*, entity_state.*): makes its workflow ID unique. */
export const newFanoutId = (): string => 'ien_' + randomBytes(8).toString('hex');

/** Splits PII fields (encrypted at rest) from the rest of the entity's data. */
export function splitPii(
  template: Template,
  e: EntityInput,
): { plain: Record<string, unknown>; pii: Record<string, unknown> } {
  const piiFields = new Set(ownEntry(template.schema.pii_fields, e.entityType) ?? []);
  const plain: Record<string, unknown> = {};
  const pii: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e.data)) (piiFields.has(k) ? pii : plain)[k] = v;
  return { plain, pii };
}

export function checkEntity(template: Template, e: EntityInput): void {
  const verdict = validateEntityData(template, e.entityType, e.data);
  if (!verdict.ok)
    throw apiError({ code: 'VALIDATION_FAILED', message: verdict.message, details: verdict.details });
}

export interface EntityWriteResult {
  status: 200 | 201;
  body: {
    success: true;
    data: { id: string; externalId: string; entityType: string; action: 'created' | 'updated' };
  };
  replayed: boolean;
}

export async function upsertOneEntity(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  e: EntityInput,
  idempotencyKey: string | undefined,
): Promise<EntityWriteResult> {
  checkEntity(template, e);
  const { plain, pii } = splitPii(template, e);
  const piiBlob = Object.keys(pii).length ? deps.pii.encrypt(operatorId, e.externalId, pii) : null;
  const hash = requestHash(e);
  const write = (db: Queryable) =>
    upsertEntity(db, {
      operatorId,
      externalId: e.externalId,
      newId: newEntityId(),
      entityType: e.entityType,
      data: plain,
      pii: piiBlob,
      fanoutId: newFanoutId(),
    });
  if (!idempotencyKey) {
    const r = await write(deps.pool);
    if (r.start) deps.dispatcher.dispatch(r.start);
    return reply(r, e, false);
  }
  // With a key, claiming it and writing happen in one transaction: a concurrent twin waits
  // on the key's row and then replays what this one stored.
  const outcome = await withTransaction(deps.pool, async (tx) => {
    const claim = await claimIdempotencyKey(tx, operatorId, 'entity', idempotencyKey, hash, e.externalId);
    if (claim.kind === 'held') return claim;
    const r = await write(tx);
    const result = reply(r, e, false);
    await saveIdempotentResponse(tx, operatorId, 'entity', idempotencyKey, {
      status: result.status,
      body: result.body,
    });
    return { kind: 'written' as const, r, result };
  });
  if (outcome.kind === 'written') {
    if (outcome.r.start) deps.dispatcher.dispatch(outcome.r.start);
    return outcome.result;
  }
  if (outcome.requestHash !== hash) {
    throw apiError({
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: 'This Idempotency-Key was already used with a different request',
    });
  }
  const saved = outcome.response as { status: 200 | 201; body: EntityWriteResult['body'] };
  return { status: saved.status, body: saved.body, replayed: true };
}

function reply(
  r: { id: string; action: 'created' | 'updated' },
  e: EntityInput,
  replayed: boolean,
): EntityWriteResult {
  return {
    status: r.action === 'created' ? 201 : 200,
    body: {
      success: true,
      data: { id: r.id, externalId: e.externalId, entityType: e.entityType, action: r.action },
    },
    replayed,
  };
}

export async function readEntity(deps: DomainDeps, operatorId: string, externalId: string) {
  const row = await getEntity(deps.pool, operatorId, externalId);
  if (!row) throw entityNotFound(externalId);
  const pii = row.pii ? deps.pii.decrypt(operatorId, externalId, row.pii) : {};
  return {
    id: row.id,
    externalId: row.external_id,
    entityType: row.entity_type,
    data: { ...row.data, ...pii },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function deleteEntity(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  externalId: string,
) {
  const piiFields = [...new Set(Object.values(template.schema.pii_fields).flat())];
  const deleted = await softDeleteEntity(deps.pool, {
    operatorId,
    externalId,
    fanoutId: newFanoutId(),
    piiFields,
  });
  if (!deleted) throw entityNotFound(externalId);
  if (deleted.start) deps.dispatcher.dispatch(deleted.start);
}
