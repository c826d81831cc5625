import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import type { Pool } from 'pg';
import { unsetWorkflowDefaults, type WorkflowDefaults } from '../core/config';
import type { DomainDeps } from '../core/domain/deps';
import { outboxStats } from '../core/db/outbox';
import type { Logger } from '../core/logger';
import { mountDocs } from './docs';
import { mount, type AnyRoute } from './http/route';
import type { ApiMetrics } from './metrics';
import { Authenticator } from './middleware/auth';
import { errorEnvelope } from './middleware/errors';
import type { RateLimiter } from './middleware/rate-limit';
import { requestContext, securityHeaders } from './middleware/request-context';
import { API_PREFIX, LEGACY_PREFIX, buildOpenApiDocument } from './openapi';
import { batchRoutes } from './routes/batch';
import { entityRoutes } from './routes/entities';
import { providerConnectionRoutes } from './routes/provider-connections';
import { providerWebhookRoutes } from './routes/provider-webhooks';
import { eventRoutes } from './routes/events';
import { settingsRoutes } from './routes/settings';
import { stateRoutes } from './routes/states';
import { webhookEndpointRoutes } from './routes/webhook-endpoints';
import { webhookMessageRoutes } from './routes/webhook-messages';
import { webhookRoutes } from './routes/webhooks';
import { workflowRoutes } from './routes/workflows';
import type { WebhookPolicy } from '../core/domain/webhooks';

export interface AppDeps extends DomainDeps {
  pool: Pool;
  temporal: Client;
  log: Logger;
  metrics: ApiMetrics;
  authCacheTtlMs?: number;
  rateLimiter: RateLimiter;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: the local stack and tests only. */
  allowPrivateWebhookUrls?: boolean;
  /** WEBHOOK_SECRET_GRACE_MS: how long a rotated-out secret keeps signing (24 h unless set). */
  webhookSecretGraceMs?: number;
  /** WEBHOOK_LOG_RETENTION_DAYS: how far back a webhook recovery may reach. */
  webhookLogRetentionDays?: number;
  /** Where workflows the API starts itself run (webhook resends and recoveries). */
  taskQueue?: string;
  /**
   * The definitions' parameters from the environment, reported by GET /workflows as the
   * defaults (the worker's environment is what applies: give both the same). Unset: the
   * variables' own defaults.
   */
  workflowDefaults?: WorkflowDefaults;
  /** PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE: inbound provider webhooks per connection (600 unless set; 0: unlimited). */
  providerWebhookRatePerMinute?: number;
}

const webhookPolicy = (deps: AppDeps): WebhookPolicy => ({
  allowPrivateNetworks: deps.allowPrivateWebhookUrls ?? false,
  secretGraceMs: deps.webhookSecretGraceMs ?? 86_400_000,
  logRetentionDays: deps.webhookLogRetentionDays ?? 30,
});

/** Every route of the Operator Data API, in one list: mounted and documented from here. */
export function apiRoutes(deps: AppDeps, authenticator: Authenticator): AnyRoute[] {
  return [
    ...settingsRoutes(deps, (id) => authenticator.forget(id)),
    ...workflowRoutes(deps, deps.workflowDefaults ?? unsetWorkflowDefaults()),
    ...entityRoutes(deps),
    ...eventRoutes(deps, (type) => deps.metrics.eventsRecorded.inc({ event_type: type })),
    ...stateRoutes(deps),
    ...batchRoutes(deps, (type, n) => deps.metrics.eventsRecorded.inc({ event_type: type }, n)),
    ...webhookRoutes(deps, webhookPolicy(deps)),
    ...webhookEndpointRoutes({ ...deps, taskQueue: deps.taskQueue ?? 'entity-events' }, webhookPolicy(deps)),
    ...webhookMessageRoutes({ ...deps, taskQueue: deps.taskQueue ?? 'entity-events' }),
    ...providerConnectionRoutes(deps, {
      allowPrivateNetworks: deps.allowPrivateWebhookUrls ?? false,
      secretGraceMs: deps.webhookSecretGraceMs ?? 86_400_000,
    }),
    ...providerWebhookRoutes({ ...deps, ratePerMinute: deps.providerWebhookRatePerMinute ?? 600 }),
  ];
}

/** Unmatched routes and wrong methods get the same envelope as every other error. */
const notFoundEnvelope: Koa.Middleware = async (ctx, next) => {
  await next();
  if (ctx.body !== undefined && ctx.body !== null) return;
  if (ctx.status === 405 || ctx.status === 501) {
    ctx.status = 405;
    ctx.body = {
      success: false,
      error: {
        code: 'METHOD_NOT_ALLOWED',
        message: `${ctx.method} is not allowed here; allowed: ${ctx.response.get('Allow')}`,
      },
    };
  } else if (ctx.status === 404) {
    // Koa's default 404 is not "explicit": assigning a body alone would turn it into a 200.
    ctx.status = 404;
    ctx.body = {
      success: false,
      error: { code: 'NOT_FOUND', message: `No route for ${ctx.method} ${ctx.path}` },
    };
  }
};

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  const authenticator = new Authenticator(deps.pool, deps.authCacheTtlMs);
  const routes = apiRoutes(deps, authenticator);
  let document: unknown;
  const openApi = () => (document ??= buildOpenApiDocument(routes));

  app.use(requestContext(deps.log, deps.metrics.http));
  app.use(errorEnvelope(deps.log));
  app.use(securityHeaders);
  app.use(notFoundEnvelope);

  for (const prefix of [API_PREFIX, LEGACY_PREFIX]) {
    const router = new Router({ prefix });
    for (const route of routes) {
      mount(router, route, async (ctx) => {
        const auth = await authenticator.authenticate(ctx);
        await deps.rateLimiter.check(ctx, auth.operatorId, auth.rateLimitPerMinute);
        return auth;
      });
    }
    app.use(router.routes()).use(router.allowedMethods());
  }

  const ops = new Router();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    const [db, temporal] = await Promise.allSettled([
      deps.pool.query('select 1'),
      deps.temporal.connection.withDeadline(Date.now() + 2000, () =>
        deps.temporal.workflowService.getSystemInfo({}),
      ),
    ]);
    const ok = db.status === 'fulfilled' && temporal.status === 'fulfilled';
    ctx.status = ok ? 200 : 503;
    ctx.body = {
      status: ok ? 'ready' : 'unavailable',
      checks: {
        postgres: db.status === 'fulfilled' ? 'ok' : 'down',
        temporal: temporal.status === 'fulfilled' ? 'ok' : 'down',
      },
    };
  });
  ops.get('/metrics', async (ctx) => {
    // The backlog is read at scrape time, not maintained per request.
    const stats = await outboxStats(deps.pool).catch(() => undefined);
    if (stats) {
      deps.metrics.backlog.set(stats.backlog);
      deps.metrics.oldest.set(stats.oldestAgeSeconds);
    }
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  mountDocs(ops, openApi);
  app.use(ops.routes()).use(ops.allowedMethods());
  return app;
}
