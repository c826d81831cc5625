import { z } from 'zod';
import type { DomainDeps } from '../../core/domain/deps';
import { fanoutStatus, type FanoutStatusDeps } from '../../core/domain/fanout-status';
import { listEntityEvents, recordOneEvent } from '../../core/domain/events';
import { apiError } from '../../core/errors';
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

export function eventRoutes(deps: DomainDeps & FanoutStatusDeps, onRecorded: (eventType: string) => void) {
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
        "Whether the workflow of this event has been started in Temporal yet, its workflow ID and, read from Temporal, how each definition of its plan stands: `running` (with the activity's attempt and last error while it retries), `completed` or `failed` (with the reason), and the re-drives that re-ran it. When Temporal does not answer within a few seconds the state is still given, with `outcomes.available: false`.",
      params: z.object({
        eventId: z.string().regex(/^eev_[0-9a-f]{16}$/, 'must be an event id (eev_ + 16 hex)'),
      }),
      responses: { 200: { description: 'Fan-out state', schema: FanoutStatusResponse } },
      handler: async (_ctx, { params, auth }) => {
        // Looked up for the caller's operator first: another operator's event is a 404.
        const status = await fanoutStatus(deps, auth.operatorId, params.eventId);
        if (!status) throw apiError({ code: 'NOT_FOUND', message: `No event ${params.eventId}` });
        const { pendingSince, ...rest } = status;
        return {
          status: 200,
          body: {
            success: true,
            data: { ...rest, ...(pendingSince ? { pendingSince: iso(pendingSince) } : {}) },
          },
        };
      },
    }),
  ];
}
