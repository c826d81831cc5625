import { z } from 'zod';
import { isPending } from '../../core/db/outbox';
import { findEventForOperator } from '../../core/db/events';
import type { DomainDeps } from '../../core/domain/deps';
import { listEntityEvents, recordOneEvent } from '../../core/domain/events';
import { apiError } from '../../core/errors';
import { eventWorkflowId } from '../../core/ids';
import { defineRoute } from '../http/route';
import { requireTemplate } from '../middleware/auth';
import { EntityParams, IdempotencyHeaders, iso } from '../schemas/common';
import {
  FanoutStatusResponse,
  ListEventsQuery,
  ListEventsResponse,
  RecordEventBody,
  RecordEventResponse,
} from '../schemas/events';

export function eventRoutes(deps: DomainDeps, onRecorded: (eventType: string) => void) {
  return [
    defineRoute({
      method: 'post',
      path: '/entities/:externalId/events',
      tag: 'Events',
      summary: 'Record an event',
      description:
        'Appends an immutable event to the entity and fans it out: the workflow `entity_event.<type>:<id>` is started in the background.',
      needsTemplate: true,
      params: EntityParams,
      body: RecordEventBody,
      headers: IdempotencyHeaders,
      responses: {
        201: { description: 'Event recorded', schema: RecordEventResponse },
        200: {
          description: 'Duplicate (same Idempotency-Key): the original id',
          schema: RecordEventResponse,
        },
      },
      handler: async (_ctx, { params, body, headers, auth }) => {
        const template = requireTemplate(auth);
        const outcome = await recordOneEvent(
          deps,
          auth.operatorId,
          template,
          { externalId: params.externalId, eventType: body.eventType, data: body.data },
          headers['idempotency-key'],
        );
        if (outcome.action === 'duplicate') {
          return {
            status: 200,
            headers: { 'Idempotent-Replayed': 'true' },
            body: { success: true, data: { id: outcome.id, action: 'duplicate' } },
          };
        }
        onRecorded(body.eventType);
        return { status: 201, body: { success: true, data: { id: outcome.id } } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/entities/:externalId/events',
      tag: 'Events',
      summary: 'List events (newest first)',
      description:
        "Hot events first, then those the retention schedule archived (older than the operator's `hot_days`), as one list: `cursor`, `offset`, `type`, `since` and `until` apply across both.",
      needsTemplate: true,
      params: EntityParams,
      query: ListEventsQuery,
      responses: { 200: { description: 'A page of events', schema: ListEventsResponse } },
      handler: async (_ctx, { params, query, auth }) => {
        if (query.cursor && query.offset > 0) {
          throw apiError({
            code: 'VALIDATION_FAILED',
            message: 'Use either cursor or offset, not both',
            details: [{ field: 'offset', reason: 'must be 0 when cursor is given' }],
          });
        }
        const page = await listEntityEvents(deps, auth.operatorId, {
          externalId: params.externalId,
          ...query,
        });
        return {
          status: 200,
          body: {
            success: true,
            data: page.rows.map((r) => ({
              id: r.id,
              event_type: r.event_type,
              data: r.data,
              created_at: iso(r.created_at),
            })),
            count: page.rows.length,
            has_more: page.hasMore,
            next_cursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/events/:eventId/fanout',
      tag: 'Events',
      summary: "An event's fan-out state",
      description:
        'Whether the workflow of this event has been started in Temporal yet, and its workflow ID.',
      params: z.object({
        eventId: z.string().regex(/^eev_[0-9a-f]{16}$/, 'must be an event id (eev_ + 16 hex)'),
      }),
      responses: { 200: { description: 'Fan-out state', schema: FanoutStatusResponse } },
      handler: async (_ctx, { params, auth }) => {
        const event = await findEventForOperator(deps.pool, auth.operatorId, params.eventId);
        if (!event) throw apiError({ code: 'NOT_FOUND', message: `No event ${params.eventId}` });
        const workflowId = eventWorkflowId(event.event_type, event.id);
        const pending = await isPending(deps.pool, workflowId);
        return {
          status: 200,
          body: {
            success: true,
            data: pending
              ? {
                  eventId: event.id,
                  workflowId,
                  state: 'pending',
                  pendingSince: iso(pending.since),
                  attempts: pending.attempts,
                }
              : { eventId: event.id, workflowId, state: 'started' },
          },
        };
      },
    }),
  ];
}
