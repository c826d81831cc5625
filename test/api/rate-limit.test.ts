import pino from 'pino';
import type { Context } from 'koa';
import { RateLimiter } from '../../api/middleware/rate-limit';
import { startStack, type TestStack } from '../support/stack';
import { newOperator } from '../support/operators';
import { P } from '../support/http';

describe('rate limiting per operator', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After, resetAt and RateLimit headers past the limit', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const other = await newOperator(stack.db.pool, stack.baseUrl);
    await stack.db.pool.query('update operators set rate_limit_per_minute = 5 where id = $1', [
      op.operatorId,
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await op.client.get(`${P}/settings`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await op.client.get(`${P}/settings`);
    expect(limited.status).toBe(429);
    expect(limited.body.success).toBe(false);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Date.parse(limited.body.error.resetAt)).toBeGreaterThan(Date.now() - 1000);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit-policy')).toBe('5;w=60');
    expect(limited.headers.get('ratelimit')).toMatch(/^limit=5, remaining=0, reset=\d+$/);
    // Another operator is not affected.
    expect((await other.client.get(`${P}/settings`)).status).toBe(200);
  });

  it('holds within 10% across two API processes sharing the database', async () => {
    const log = pino({ level: 'silent' });
    const limit = 200;
    // Two limiters = two API processes: separate local state, one shared Postgres counter.
    const a = new RateLimiter(stack.db.pool, limit, log);
    const b = new RateLimiter(stack.db.pool, limit, log);
    const ctx = { set: () => undefined } as unknown as Context;
    let admitted = 0;
    const hammer = async (l: RateLimiter) => {
      for (let i = 0; i < 400; i++) {
        try {
          await l.check(ctx, 'op_shared', null);
          admitted++;
        } catch {
          // limited
        }
      }
    };
    const windowLeft = 60_000 - (Date.now() % 60_000);
    if (windowLeft < 10_000) await new Promise((r) => setTimeout(r, windowLeft + 50)); // stay in one window
    await Promise.all([hammer(a), hammer(b)]);
    expect(admitted).toBeGreaterThanOrEqual(limit * 0.9);
    expect(admitted).toBeLessThanOrEqual(limit * 1.1);
  });
});
