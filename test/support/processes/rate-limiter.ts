/**
 * One API process's rate limiter, alone in its own Node process: the rate-limit test starts
 * two of these against one database, as two API processes would share it.
 *
 * argv: <databaseUrl> <operatorId> <limit> <attempts> <concurrency>
 * Prints `ready`, waits for a line on stdin, then spends its attempts and prints one JSON line: { admitted, limited, otherErrors, windows } — `limited` counts only
 * RATE_LIMITED errors (status 429); anything else thrown is an `otherErrors` entry.
 */
import type { Context } from 'koa';
import pino from 'pino';
import { RateLimiter } from '../../../api/middleware/rate-limit';
import { createPool } from '../../../core/db/pool';
import { isApiError } from '../../../core/errors';

async function main(): Promise<void> {
  const [url, operatorId, limitArg, attemptsArg, concurrencyArg] = process.argv.slice(2);
  if (!url || !operatorId)
    throw new Error('usage: rate-limiter.ts <databaseUrl> <operatorId> <limit> <attempts> <concurrency>');
  const limit = Number(limitArg);
  const attempts = Number(attemptsArg);
  const concurrency = Number(concurrencyArg);
  const pool = createPool(url, concurrency + 2);
  const limiter = new RateLimiter(pool, limit, pino({ level: 'silent' }));
  const ctx = { set: () => undefined } as unknown as Context;
  let admitted = 0;
  let limited = 0;
  const otherErrors: string[] = [];
  const windows = new Set<number>();
  let next = 0;
  // Both processes start, then spend together: the test says go once both are ready.
  await pool.query('select 1');
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const loop = async () => {
    while (next < attempts) {
      next++;
      windows.add(Math.floor(Date.now() / 60_000));
      try {
        await limiter.check(ctx, operatorId, null);
        admitted++;
      } catch (err) {
        if (isApiError(err) && err.code === 'RATE_LIMITED' && err.status === 429) limited++;
        else otherErrors.push(String(err));
      }
      windows.add(Math.floor(Date.now() / 60_000));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await pool.end();
  process.stdin.destroy();
  process.stdout.write(`${JSON.stringify({ admitted, limited, otherErrors, windows: [...windows] })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
