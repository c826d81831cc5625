import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { logContext, type Logger } from '../../core/logger';
import type { HttpMetrics } from '../metrics';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (the caller's X-Request-Id when sane), stamps it on every log
 * line of the request through AsyncLocalStorage, and logs one access line at the end.
 */
export function requestContext(log: Logger, metrics: HttpMetrics): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    await logContext.run({ requestId }, async () => {
      try {
        await next();
      } finally {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        metrics.observe(ctx.method, String(route), ctx.status, ms / 1000);
        log.info(
          { method: ctx.method, route, status: ctx.status, ms: Math.round(ms * 100) / 100 },
          'request',
        );
      }
    });
  };
}

/** Headers every answer carries; the API serves JSON only (the docs page sets its own CSP). */
export const securityHeaders: Middleware = async (ctx, next) => {
  ctx.set({
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  });
  await next();
};
