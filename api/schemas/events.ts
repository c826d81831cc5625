import { z } from 'zod';
import { cursorPage, JsonObject } from './common';

export const RecordEventBody = z
  .object({
    eventType: z
      .string()
      .min(1)
      .max(64)
      .meta({ description: 'Event type as defined in your template', example: 'transaction' }),
    data: JsonObject.meta({
      description: 'Event payload; must include the required fields of the event type',
    }),
  })
  .meta({ id: 'RecordEventRequest' });

export const RecordEventResponse = z
  .object({
    success: z.literal(true),
    data: z.object({
      id: z
        .string()
        .regex(/^eev_[0-9a-f]{16}$/)
        .meta({ example: 'eev_b2c3d4e5f6789012' }),
      action: z.literal('duplicate').optional(),
    }),
  })
  .meta({ id: 'RecordEventResponse' });

/**
 * A query parameter holding an integer: validated as the string it arrives as, documented as
 * the integer it means (the OpenAPI document would otherwise say "string with a pattern").
 */
export const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .meta({ type: 'integer', minimum: min, maximum: max, pattern: undefined });

export const timestamp = z
  .string()
  .refine(
    (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}/.test(v),
    'must be an ISO-8601 timestamp',
  )
  .transform((v) => new Date(v));

export const ListEventsQuery = z.object({
  type: z
    .string()
    .min(1)
    .max(64)
    // Postgres refuses a NUL in text: without this, `?type=%00` was a 500 (found by fuzzing).
    // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters')
    .optional()
    .meta({ description: 'Filter by event type', example: 'transaction' }),
  limit: int(1, 100).default(100).meta({ description: 'Number of events to return (1-100)', default: 100 }),
  offset: int(0, 1_000_000).default(0).meta({ description: 'Pagination offset', default: 0 }),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: 'Opaque keyset cursor from `next_cursor`' }),
  since: timestamp.optional().meta({ description: 'Only events created at or after this time' }),
  until: timestamp.optional().meta({ description: 'Only events created before this time' }),
});

export const EventListRow = z
  .object({
    id: z.string(),
    event_type: z.string(),
    data: z.record(z.string(), z.unknown()),
    created_at: z.string().meta({ example: '2026-04-06T12:00:00.000Z' }),
  })
  .meta({ id: 'Event' });

export const ListEventsResponse = cursorPage(EventListRow, 'ListEventsResponse');

const FanoutFailure = z
  .object({
    message: z.string().meta({ example: 'KYC provider answered 401: invalid API key' }),
    type: z.string().optional().meta({ description: 'The failure type', example: 'KycRequestRejected' }),
  })
  .meta({ id: 'FanoutFailure' });

/** A definition's run in one workflow: the event's own, or a re-drive's re-run. */
const definitionRun = {
  definition: z.string().meta({ example: 'kyc-on-deposit' }),
  activity: z.string().optional().meta({ description: 'running: the activity it waits on' }),
  attempt: z.number().int().optional().meta({ description: "running: that activity's attempt (1: first)" }),
  lastError: FanoutFailure.optional().meta({ description: 'running: why the previous attempt failed' }),
  nextAttemptAt: z.string().optional().meta({ description: 'running: when the next attempt starts' }),
  error: FanoutFailure.optional().meta({ description: 'failed: why it gave up' }),
  waitingFor: z
    .string()
    .optional()
    .meta({
      description: 'waiting: what it waits for, in words',
      example: 'sof_status verified or rejected',
    }),
  events: z
    .array(z.string())
    .optional()
    .meta({
      description: 'waiting: the internal events that can end the wait',
      example: ['entity_state.updated.sof_status'],
    }),
  deadline: z.string().nullable().optional().meta({ description: 'waiting: when the wait times out' }),
  since: z.string().optional().meta({ description: 'waiting: when the wait began' }),
  cancelledBy: z
    .object({ internalEvent: z.string(), eventId: z.string().nullable(), at: z.string() })
    .optional()
    .meta({ description: 'cancelled: the later event that ended it (a self-exclusion, the erasure)' }),
};

const RedriveMode = z.enum(['redrive', 'redrive-failed', 'backfill']);

const FanoutRedriveRun = z
  .object({
    ...definitionRun,
    status: z.enum(['running', 'waiting', 'completed', 'failed', 'cancelled']),
    redriveId: z.string().meta({ example: 'rd_4f1c0a2b3c4d' }),
    mode: RedriveMode,
    workflowId: z.string().meta({ example: 'redrive:rd_4f1c0a2b3c4d:eev_b2c3d4e5f6789012' }),
  })
  .meta({ id: 'FanoutRedriveRun', description: 'A re-run of the definition for this event by a re-drive' });

const FanoutDefinition = z
  .object({
    ...definitionRun,
    status: z
      .enum(['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'not_planned'])
      .meta({
        description:
          "In the event's own workflow. `waiting`: parked in a wait (see `waitingFor`, `deadline`); `cancelled`: ended by a later event, not a failure; `not_planned`: only a backfill ran it (see `redrives`)",
      }),
    redrives: z.array(FanoutRedriveRun),
  })
  .meta({ id: 'FanoutDefinition' });

const FanoutOutcomes = z
  .discriminatedUnion('available', [
    z.object({
      available: z.literal(true),
      workflowStatus: z.enum([
        'not_started',
        'running',
        'completed',
        'failed',
        'cancelled',
        'terminated',
        'timed_out',
        'continued_as_new',
        'unknown',
      ]),
      definitions: z.array(FanoutDefinition),
    }),
    z.object({
      available: z.literal(false),
      reason: z
        .string()
        .meta({ example: 'Temporal did not answer within 3000 ms; outcomes are unavailable for now' }),
    }),
  ])
  .meta({
    id: 'FanoutOutcomes',
    description: 'Read from Temporal; when it cannot be read, `available: false` and the reason',
  });

export const FanoutStatusResponse = z
  .object({
    success: z.literal(true),
    data: z.object({
      eventId: z.string(),
      workflowId: z.string(),
      state: z.enum(['pending', 'started']),
      pendingSince: z.string().optional(),
      attempts: z.number().int().optional(),
      outcomes: FanoutOutcomes,
    }),
  })
  .meta({ id: 'FanoutStatusResponse' });
