import { z } from 'zod';
import {
  BATCH_LIMITS,
  parseBatch,
  putStateBatch,
  readBatchJob,
  recordEventBatch,
  upsertEntityBatch,
  type BatchKind,
} from '../../core/domain/batch';
import type { DomainDeps } from '../../core/domain/deps';
import { ERROR_CODES, apiError } from '../../core/errors';
import { defineRoute } from '../http/route';
import { requireTemplate } from '../middleware/auth';
import { ExternalId, JsonObject, ok } from '../schemas/common';
import { RecordEventBody } from '../schemas/events';
import { UpsertEntityBody } from './entities';

const MB = 1024 * 1024;
/**
 * Body limits. Events: 5,000 items at the 32 KB data maximum would be 160 MB, far more than
 * one request should hold in memory; 20 MB averages 4 KB per event at the item limit.
 */
const BODY_LIMITS: Record<BatchKind, number> = { events: 20 * MB, entities: 10 * MB, states: 10 * MB };

const EventItem = z
  .object({ externalId: ExternalId, eventType: RecordEventBody.shape.eventType, data: JsonObject })
  .meta({ id: 'BatchEventItem' });
const EntityItem = UpsertEntityBody;
const StateItem = z
  .object({
    externalId: ExternalId,
    key: z.string().min(1).max(64).meta({ example: 'kyc_status' }),
    value: z.unknown().meta({ description: 'Any JSON value' }),
  })
  .meta({ id: 'BatchStateItem' });

const REQUIRED: Record<BatchKind, string[]> = {
  events: ['externalId', 'eventType', 'data'],
  entities: ['entityType', 'externalId', 'data'],
  states: ['externalId', 'key', 'value'],
};

/**
 * Checks one item as the single-item endpoints check their body: an absent required field is
 * MISSING_FIELDS, anything else wrong VALIDATION_FAILED. (`value` may be any JSON, null
 * included, so only its absence is caught here.)
 */
function itemParser<T extends z.ZodType>(kind: BatchKind, schema: T) {
  return (raw: unknown): z.infer<T> => {
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const missing = REQUIRED[kind].filter((k) => (raw as Record<string, unknown>)[k] === undefined);
      if (missing.length > 0) {
        throw apiError({
          code: 'MISSING_FIELDS',
          message: `Missing required field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
          details: missing.map((field) => ({ field, reason: 'is required' })),
        });
      }
    }
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    const details = result.error.issues.map((i) => ({
      field: i.path.length ? i.path.join('.') : 'item',
      reason: i.message,
    }));
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `Invalid item: ${details.map((d) => `${d.field}: ${d.reason}`).join('; ')}`,
      details,
    });
  };
}

const BatchError = z.object({
  index: z.number().int().meta({ description: 'Position of the item in the request array (0-based)' }),
  externalId: z.string().nullable(),
  code: z.enum(ERROR_CODES),
  message: z.string(),
});

const BatchResult = ok(
  z.object({
    jobId: z.string().meta({ example: 'job_0123456789abcdef' }),
    succeeded: z.number().int(),
    failed: z.number().int(),
    errors: z.array(BatchError),
  }),
).meta({ id: 'BatchResultResponse' });

const BatchJob = ok(
  z.object({
    jobId: z.string(),
    kind: z.enum(['entities', 'events', 'states']),
    total: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    errors: z.array(BatchError),
    createdAt: z.string(),
  }),
).meta({ id: 'BatchJobResponse' });

// Declared once per process: a schema id can be registered only once (createApp may run several times).
const arrayOf = (id: string, kind: BatchKind, item: z.ZodType) =>
  z.array(item).min(1).max(BATCH_LIMITS[kind]).meta({ id });
const BatchEntitiesRequest = arrayOf('BatchEntitiesRequest', 'entities', EntityItem);
const BatchEventsRequest = arrayOf('BatchEventsRequest', 'events', EventItem);
const BatchStatesRequest = arrayOf('BatchStatesRequest', 'states', StateItem);

const describe = (kind: BatchKind, what: string) =>
  `Body: a bare JSON array of 1 to ${BATCH_LIMITS[kind].toLocaleString('en')} ${what}, at most ${BODY_LIMITS[kind] / MB} MB. ` +
  'Each item is checked as the single-item endpoint checks it; valid items are committed even when others fail, ' +
  'and every failure is listed with its index. The outcome is kept as a job (GET /batch/jobs/{jobId}).';

/** `onRecorded` counts what a batch recorded, per event type, as single events are counted. */
export function batchRoutes(deps: DomainDeps, onRecorded: (eventType: string, count: number) => void) {
  const responses = { 200: { description: 'Per-item outcome', schema: BatchResult } };
  return [
    defineRoute({
      method: 'post',
      path: '/batch/entities',
      tag: 'Batch',
      summary: 'Create or update many entities',
      description: `${describe('entities', 'entities')} An externalId may appear once per batch. Each fans out \`entity.created\` or \`entity.updated\`.`,
      needsTemplate: true,
      body: z.unknown(),
      bodyDoc: BatchEntitiesRequest,
      bodyLimitBytes: BODY_LIMITS.entities,
      responses,
      handler: async (_ctx, { body, auth }) => ({
        status: 200,
        body: {
          success: true,
          data: await upsertEntityBatch(
            deps,
            auth.operatorId,
            requireTemplate(auth),
            parseBatch('entities', body, itemParser('entities', EntityItem)),
          ),
        },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/batch/events',
      tag: 'Batch',
      summary: 'Record many events',
      description: `${describe('events', 'events')} Each fans out like a single event (workflow \`entity_event.<type>:<id>\`).`,
      needsTemplate: true,
      body: z.unknown(),
      bodyDoc: BatchEventsRequest,
      bodyLimitBytes: BODY_LIMITS.events,
      responses,
      handler: async (_ctx, { body, auth }) => {
        const items = parseBatch('events', body, itemParser('events', EventItem));
        const data = await recordEventBatch(deps, auth.operatorId, requireTemplate(auth), items);
        const failed = new Set(data.errors.map((e) => e.index));
        const byType = new Map<string, number>();
        for (const item of items) {
          if ('value' in item && !failed.has(item.index))
            byType.set(item.value.eventType, (byType.get(item.value.eventType) ?? 0) + 1);
        }
        for (const [type, n] of byType) onRecorded(type, n);
        return { status: 200, body: { success: true, data } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/batch/states',
      tag: 'Batch',
      summary: 'Set many state values',
      description: `${describe('states', 'state values')} An (externalId, key) pair may appear once per batch. Each fans out \`entity_state.updated.<key>\`.`,
      needsTemplate: true,
      body: z.unknown(),
      bodyDoc: BatchStatesRequest,
      bodyLimitBytes: BODY_LIMITS.states,
      responses,
      handler: async (_ctx, { body, auth }) => ({
        status: 200,
        body: {
          success: true,
          data: await putStateBatch(
            deps,
            auth.operatorId,
            requireTemplate(auth),
            parseBatch('states', body, itemParser('states', StateItem)),
          ),
        },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/batch/jobs/:jobId',
      tag: 'Batch',
      summary: "A batch job's outcome",
      description:
        'Counts and per-item errors of one of your batch requests; 404 NOT_FOUND for any other id.',
      params: z.object({ jobId: z.string().min(1).max(64).meta({ example: 'job_0123456789abcdef' }) }),
      responses: { 200: { description: 'The job', schema: BatchJob } },
      handler: async (_ctx, { params, auth }) => ({
        status: 200,
        body: { success: true, data: await readBatchJob(deps, auth.operatorId, params.jobId) },
      }),
    }),
  ];
}
