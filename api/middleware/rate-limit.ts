import type { Context } from 'koa';
import type { Logger } from 'pino';
import { deleteOldWindows, leaseBudget } from '../../core/db/rate-limits';
import type { Queryable } from '../../core/db/pool';
import { apiError } from '../../core/errors';

const WINDOW_MS = 60_000;

interface Budget {
  windowStart: number;
  /** The limit this window's leases were asked under. */
  limit: number;
  granted: number;
  used: number;
  exhausted: boolean;
  leasing?: Promise<void>;
}

/**
 * Per-operator fixed-window rate limit shared by every API process. Each process leases
 * small chunks (2 % of the limit) of the operator's window budget from Postgres and spends
 * them locally, fetching the next chunk before the current one runs out: the total never
 * exceeds the limit, at most one unused chunk per process is left at the window's end, and
 * a request waits on the database only when its process runs dry.
 */
export class RateLimiter {
  private readonly budgets = new Map<string, Budget>();
  private sweeps = 0;

  constructor(
    private readonly db: Queryable,
    private readonly defaultLimit: number,
    private readonly log: Logger,
  ) {}

  /** Counts one request; throws RATE_LIMITED past the limit. Sets the RateLimit headers. */
  async check(ctx: Context, operatorId: string, operatorLimit: number | null): Promise<void> {
    const limit = operatorLimit ?? this.defaultLimit;
    if (limit === 0) return; // 0 = unlimited
    const now = Date.now();
    const windowStart = now - (now % WINDOW_MS);
    let b = this.budgets.get(operatorId);
    if (!b || b.windowStart !== windowStart) {
      b = { windowStart, limit, granted: 0, used: 0, exhausted: false };
      this.budgets.set(operatorId, b);
      if (++this.sweeps % 1000 === 0) this.forgetOldWindows(windowStart);
    } else if (b.limit !== limit) {
      // The operator's limit changed within the window (operators set-rate-limit): a raised
      // limit may lease again at once rather than after the window; the shared counter keeps
      // a lowered one honest.
      b.limit = limit;
      b.exhausted = false;
    }
    const chunk = Math.max(1, Math.floor(limit / 50));
    while (b.used >= b.granted && !b.exhausted) await this.lease(operatorId, b, chunk, limit);
    const resetSeconds = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
    ctx.set('RateLimit-Policy', `${limit};w=${WINDOW_MS / 1000}`);
    if (b.used >= b.granted) {
      ctx.set('RateLimit', `limit=${limit}, remaining=0, reset=${resetSeconds}`);
      const resetAt = new Date(windowStart + WINDOW_MS).toISOString();
      throw apiError({
        code: 'RATE_LIMITED',
        message: `Rate limit of ${limit} requests per minute exceeded; retry after ${resetAt}`,
        extra: { resetAt },
        headers: { 'Retry-After': String(resetSeconds) },
      });
    }
    b.used++;
    ctx.set(
      'RateLimit',
      `limit=${limit}, remaining=${Math.max(0, b.granted - b.used)}, reset=${resetSeconds}`,
    );
    // Prefetch the next chunk so the next requests need not wait for it.
    if (b.granted - b.used <= chunk / 2 && !b.exhausted && !b.leasing)
      void this.lease(operatorId, b, chunk, limit);
  }

  private lease(operatorId: string, b: Budget, chunk: number, limit: number): Promise<void> {
    b.leasing ??= leaseBudget(this.db, { operatorId, windowStart: new Date(b.windowStart), chunk, limit })
      .then((granted) => {
        b.granted += granted;
        if (granted === 0) b.exhausted = true;
      })
      .catch((err: unknown) => {
        // Database unreachable: admit this chunk locally rather than refuse every caller;
        // the request itself will then fail fast with 503 if it needs the database.
        this.log.warn({ err }, 'rate-limit lease failed; admitting locally');
        b.granted += chunk;
      })
      .finally(() => {
        b.leasing = undefined;
      });
    return b.leasing;
  }

  private forgetOldWindows(current: number): void {
    for (const [id, b] of this.budgets) if (b.windowStart !== current) this.budgets.delete(id);
    void deleteOldWindows(this.db, new Date(current - 10 * WINDOW_MS)).catch(() => undefined);
  }
}
