import { z } from 'zod';
import type { DomainDeps } from '../../core/domain/deps';
import { readState, readStates, setState } from '../../core/domain/states';
import { defineRoute } from '../http/route';
import { requireTemplate } from '../middleware/auth';
import { ExternalId, ok } from '../schemas/common';

const StateParams = z.object({ externalId: ExternalId, key: z.string().min(1).max(64) });

/** `{ "value": x }` or the bare JSON value x. An object with exactly one key `value` is the wrapped form. */
export function unwrapStateValue(body: unknown): unknown {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'value') return (body as { value: unknown }).value;
  }
  return body;
}

// At module level: an id registers the schema globally, and createApp may run twice in one process.
const PutStateRequest = z
  .union([z.object({ value: z.unknown() }), z.unknown()])
  .meta({ id: 'PutStateRequest' });

const StateValue = z
  .object({ stateKey: z.string(), value: z.unknown(), updatedAt: z.string() })
  .meta({ id: 'State' });

export function stateRoutes(deps: DomainDeps) {
  return [
    defineRoute({
      method: 'put',
      path: '/entities/:externalId/state/:key',
      tag: 'States',
      summary: 'Set a state value',
      description:
        'Body is `{ "value": <any JSON> }` or the bare JSON value. Fans out `entity_state.updated.<key>`.',
      needsTemplate: true,
      params: StateParams,
      body: z.unknown(),
      bodyDoc: PutStateRequest,
      responses: {
        200: { description: 'Stored', schema: ok(z.object({ stateKey: z.string(), value: z.unknown() })) },
      },
      handler: async (_ctx, { params, body, auth }) => ({
        status: 200,
        body: {
          success: true,
          data: await setState(
            deps,
            auth.operatorId,
            requireTemplate(auth),
            params.externalId,
            params.key,
            unwrapStateValue(body),
          ),
        },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/entities/:externalId/state',
      tag: 'States',
      summary: "All of an entity's state values",
      needsTemplate: true,
      params: z.object({ externalId: ExternalId }),
      responses: { 200: { description: 'States', schema: ok(z.array(StateValue)) } },
      handler: async (_ctx, { params, auth }) => ({
        status: 200,
        body: { success: true, data: await readStates(deps, auth.operatorId, params.externalId) },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/entities/:externalId/state/:key',
      tag: 'States',
      summary: 'One state value',
      needsTemplate: true,
      params: StateParams,
      responses: { 200: { description: 'The state', schema: ok(StateValue) } },
      handler: async (_ctx, { params, auth }) => ({
        status: 200,
        body: {
          success: true,
          data: await readState(deps, auth.operatorId, requireTemplate(auth), params.externalId, params.key),
        },
      }),
    }),
  ];
}
