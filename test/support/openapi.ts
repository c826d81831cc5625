import Ajv2020 from 'ajv/dist/2020';
import type Router from '@koa/router';
import type Koa from 'koa';

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

interface Operation {
  responses: Record<string, { content?: { 'application/json'?: { schema: unknown } } }>;
  security?: unknown[];
}

/** `METHOD /path` of every route the app's routers mount under `prefix` (HEAD left out: Koa adds it to GET). */
export function mountedRoutes(app: Koa, prefix: string): string[] {
  const routers = app.middleware
    .map((m) => (m as unknown as { router?: Router }).router)
    .filter((r): r is Router => r !== undefined && r.opts.prefix === prefix);
  return routers
    .flatMap((r) => r.stack)
    .flatMap((layer) =>
      layer.methods
        .filter((m) => m !== 'HEAD')
        .map((m) => `${m} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
    )
    .sort();
}

export function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/** Object schemas with named properties get `additionalProperties: false`, so undocumented fields fail. */
function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = closeObjects(v);
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/**
 * Validates a live response against the schema the document gives for that operation and
 * status (or its `default`), with undocumented fields counting as errors. Returns the errors.
 */
export function responseErrors(
  doc: OpenApiDocument,
  method: string,
  path: string,
  status: number,
  body: unknown,
): unknown[] {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) return [`${method} ${path} is not documented`];
  const response = op.responses[String(status)] ?? op.responses.default;
  const schema = response?.content?.['application/json']?.schema;
  if (!schema) return [`${method} ${path} documents no JSON body for ${status}`];
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const validate = ajv.compile(closeObjects({ ...(schema as object), components: doc.components }) as object);
  return validate(body) ? [] : (validate.errors ?? []);
}
