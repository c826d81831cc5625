import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_CODES } from '../../core/errors';

// The OpenAPI generator calls `.openapi()` on parameter schemas. zod 4 gives a schema its
// methods when it is built, so this must run before any documented schema is: every route
// module imports this one first.
extendZodWithOpenApi(z);

export const ExternalId = z
  .string()
  .min(1)
  .max(255)
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters')
  .meta({ description: "The operator's own identifier of the entity", example: 'player_12345' });

export const EntityParams = z.object({ externalId: ExternalId });

export const JsonObject = z
  .record(z.string(), z.unknown())
  .refine((v) => !Array.isArray(v), 'must be a JSON object')
  .meta({ description: 'A JSON object' });

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be 1-255 printable ASCII characters without spaces')
    .optional()
    .meta({ description: 'Makes a retry safe: scoped to your operator, kept for 24 hours' }),
});

export const ErrorEnvelope = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z
        .array(z.object({ field: z.string().optional(), index: z.number().optional(), reason: z.string() }))
        .optional(),
      resetAt: z.string().optional(),
    }),
  })
  .meta({ id: 'ErrorEnvelope' });

export const ok = <T extends z.ZodType>(data: T) => z.object({ success: z.literal(true), data });

/** A keyset-paged list: the rows, their count, and the cursor of the next page. */
export const cursorPage = <T extends z.ZodType>(row: T, id: string) =>
  z
    .object({
      success: z.literal(true),
      data: z.array(row),
      count: z.number().int(),
      has_more: z.boolean(),
      next_cursor: z.string().nullable(),
    })
    .meta({ id });

/** ISO-8601 UTC with milliseconds, as every timestamp of the API. */
export const iso = (d: Date): string => d.toISOString();
