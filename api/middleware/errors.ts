import type { Middleware } from 'koa';
import { isDatabaseUnavailable } from '../../core/db/pool';
import { isApiError } from '../../core/errors';
import type { Logger } from '../../core/logger';

/** First middleware: turns every error into the envelope. */
export function errorEnvelope(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (isApiError(err)) {
        ctx.status = err.status;
        if (err.headers) ctx.set(err.headers);
        ctx.body = {
          success: false,
          error: {
            code: err.code,
            message: err.message,
            ...(err.details ? { details: err.details } : {}),
            ...err.extra,
          },
        };
        return;
      }
      if (isDatabaseUnavailable(err)) {
        log.error({ err }, 'database unavailable');
        ctx.status = 503;
        ctx.set('Retry-After', '1');
        ctx.body = {
          success: false,
          error: {
            code: 'SERVICE_UNAVAILABLE',
            message: 'The service is temporarily unavailable; retry shortly',
          },
        };
        return;
      }
      log.error({ err }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } };
    }
  };
}
