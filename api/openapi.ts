import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { toOpenApiRoute, type AnyRoute } from './http/route';
import { ErrorEnvelope } from './schemas/common';

export const API_PREFIX = '/operator-data-api';
/** The hosted product also answers under this prefix; we accept both. */
export const LEGACY_PREFIX = '/functions/v1/operator-data-api';

/** The OpenAPI 3.1 document, generated from the same route declarations the router mounts. */
export function buildOpenApiDocument(routes: AnyRoute[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An operator API key: `oh_live_` or `oh_test_` followed by 64 hex characters',
  });
  for (const route of routes) registry.registerPath(toOpenApiRoute(API_PREFIX, route, ErrorEnvelope));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Operator Data API',
      version: '1.0.0',
      description:
        'Immutable events about your players and games, validated against your data template, each fanned out to Temporal workflows (KYC, AML, affordability, webhooks).',
    },
    servers: [{ url: '/' }],
  });
}
