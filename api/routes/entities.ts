import { z } from 'zod';
import type { DomainDeps } from '../../core/domain/deps';
import { deleteEntity, readEntity, upsertOneEntity } from '../../core/domain/entities';
import { defineRoute } from '../http/route';
import { requireTemplate } from '../middleware/auth';
import { EntityParams, ExternalId, IdempotencyHeaders, JsonObject, ok } from '../schemas/common';

export const UpsertEntityBody = z
  .object({
    entityType: z.string().min(1).max(64).meta({ example: 'player' }),
    externalId: ExternalId,
    data: JsonObject.meta({ description: 'Entity fields; PII fields are encrypted at rest' }),
  })
  .meta({ id: 'UpsertEntityRequest' });

const EntityWriteResponse = ok(
  z.object({
    id: z.string(),
    externalId: z.string(),
    entityType: z.string(),
    action: z.enum(['created', 'updated']),
  }),
).meta({ id: 'EntityWriteResponse' });

const EntityResponse = ok(
  z.object({
    id: z.string(),
    externalId: z.string(),
    entityType: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
).meta({ id: 'EntityResponse' });

export function entityRoutes(deps: DomainDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/entities',
      tag: 'Entities',
      summary: 'Create or update an entity',
      description: 'Upsert on externalId: 201 with action "created", or 200 with action "updated".',
      needsTemplate: true,
      body: UpsertEntityBody,
      headers: IdempotencyHeaders,
      responses: {
        201: { description: 'Created', schema: EntityWriteResponse },
        200: { description: 'Updated (or an idempotent replay)', schema: EntityWriteResponse },
      },
      handler: async (_ctx, { body, headers, auth }) => {
        const r = await upsertOneEntity(
          deps,
          auth.operatorId,
          requireTemplate(auth),
          body,
          headers['idempotency-key'],
        );
        return {
          status: r.status,
          body: r.body,
          headers: r.replayed ? { 'Idempotent-Replayed': 'true' } : undefined,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/entities/:externalId',
      tag: 'Entities',
      summary: 'Get an entity (PII decrypted)',
      needsTemplate: true,
      params: EntityParams,
      responses: { 200: { description: 'The entity', schema: EntityResponse } },
      handler: async (_ctx, { params, auth }) => ({
        status: 200,
        body: { success: true, data: await readEntity(deps, auth.operatorId, params.externalId) },
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/entities/:externalId',
      tag: 'Entities',
      summary: 'Delete an entity (GDPR erasure)',
      description: 'Soft delete: the entity reads as not found from now on, and its PII is erased.',
      needsTemplate: true,
      params: EntityParams,
      responses: {
        200: {
          description: 'Deleted',
          schema: ok(z.object({ externalId: z.string(), deleted: z.literal(true) })),
        },
      },
      handler: async (_ctx, { params, auth }) => {
        await deleteEntity(deps, auth.operatorId, requireTemplate(auth), params.externalId);
        return {
          status: 200,
          body: { success: true, data: { externalId: params.externalId, deleted: true } },
        };
      },
    }),
  ];
}
