import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z, type ZodType } from 'zod';
import { apiError, type ErrorDetail } from '../../core/errors';
import { requireTemplate, type AuthContext } from '../middleware/auth';
import { readJsonBody } from './body';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type Infer<T> = T extends ZodType ? z.infer<T> : undefined;

/**
 * One route, declared once: its request and response schemas give the handler its types,
 * validate the request, and produce the OpenAPI document (see openapi.ts).
 */
export interface RouteSpec<
  P extends ZodType | undefined,
  Q extends ZodType | undefined,
  B extends ZodType | undefined,
  H extends ZodType | undefined = undefined,
> {
  method: Method;
  /** Koa-style path relative to the API prefix, e.g. `/entities/:externalId/events`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** false for the few routes outside the authenticated API. */
  auth?: boolean;
  /** Data calls answer TEMPLATE_NOT_CONFIGURED (before any validation) until a template is set. */
  needsTemplate?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Documented body when validation is per item (batch) rather than by `body`. */
  bodyDoc?: ZodType;
  bodyLimitBytes?: number;
  headers?: H;
  responses: Record<number, { description: string; schema?: ZodType }>;
  handler: (
    ctx: Context,
    input: { params: Infer<P>; query: Infer<Q>; body: Infer<B>; headers: Infer<H>; auth: AuthContext },
  ) => Promise<Reply>;
}

export type AnyRoute = RouteSpec<
  ZodType | undefined,
  ZodType | undefined,
  ZodType | undefined,
  ZodType | undefined
>;

export function defineRoute<
  P extends ZodType | undefined = undefined,
  Q extends ZodType | undefined = undefined,
  B extends ZodType | undefined = undefined,
  H extends ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B, H>): AnyRoute {
  return spec as unknown as AnyRoute;
}

type Where = 'body' | 'query' | 'params' | 'headers';

/**
 * zod issues → our error codes. A required top-level field that is absent is
 * MISSING_FIELDS (as the brief says for eventType / data); anything else VALIDATION_FAILED.
 */
export function toApiError(error: z.ZodError, where: Where, input: unknown) {
  const details: ErrorDetail[] = error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : where,
    reason: i.message,
  }));
  const missing =
    where === 'body' &&
    error.issues.filter(
      (i) =>
        i.code === 'invalid_type' &&
        i.path.length === 1 &&
        (input === null ||
          typeof input !== 'object' ||
          (input as Record<string, unknown>)[String(i.path[0])] === undefined),
    );
  if (missing && missing.length > 0 && typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const names = missing.map((i) => String(i.path[0]));
    return apiError({
      code: 'MISSING_FIELDS',
      message: `Missing required field${names.length > 1 ? 's' : ''}: ${names.join(', ')}`,
      details: names.map((n) => ({ field: n, reason: 'is required' })),
    });
  }
  const summary = details.map((d) => `${d.field}: ${d.reason}`).join('; ');
  return apiError({ code: 'VALIDATION_FAILED', message: `Invalid ${where}: ${summary}`, details });
}

function parse<T extends ZodType>(schema: T, value: unknown, where: Where): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw toApiError(result.error, where, value);
  return result.data;
}

const DEFAULT_BODY_LIMIT = 256 * 1024;

export function mount(
  router: Router,
  route: AnyRoute,
  authenticate: (ctx: Context) => Promise<AuthContext>,
): void {
  router[route.method](route.path, async (ctx) => {
    const auth = route.auth === false ? (undefined as unknown as AuthContext) : await authenticate(ctx);
    if (route.needsTemplate) requireTemplate(auth);
    const params = route.params ? parse(route.params, ctx.params, 'params') : undefined;
    const query = route.query ? parse(route.query, ctx.query, 'query') : undefined;
    const headers = route.headers ? parse(route.headers, ctx.headers, 'headers') : undefined;
    let body: unknown;
    if (route.body) {
      const raw = await readJsonBody(ctx, route.bodyLimitBytes ?? DEFAULT_BODY_LIMIT);
      if (raw === undefined)
        throw apiError({ code: 'VALIDATION_FAILED', message: 'A JSON request body is required' });
      body = parse(route.body, raw, 'body');
    }
    const reply = await route.handler(ctx, { params, query, body, headers, auth } as never);
    ctx.status = reply.status;
    if (reply.headers) ctx.set(reply.headers);
    ctx.body = reply.body;
  });
}

/** `/a/:b` → `/a/{b}` for the OpenAPI document. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function toOpenApiRoute(prefix: string, route: AnyRoute, errorSchema: ZodType): RouteConfig {
  const bodySchema = route.bodyDoc ?? route.body;
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = r.schema
      ? { description: r.description, content: { 'application/json': { schema: r.schema } } }
      : { description: r.description };
  }
  responses.default = {
    description: 'Error envelope',
    content: { 'application/json': { schema: errorSchema } },
  };
  return {
    method: route.method,
    path: openApiPath(prefix + route.path),
    summary: route.summary,
    description: route.description,
    tags: [route.tag],
    security: route.auth === false ? [] : [{ bearerAuth: [] }],
    request: {
      params: route.params as never,
      query: route.query as never,
      headers: route.headers as never,
      body: bodySchema
        ? { required: true, content: { 'application/json': { schema: bodySchema } } }
        : undefined,
    },
    responses,
  };
}
