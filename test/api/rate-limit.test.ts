import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
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
    await stayInOneWindow(5_000);
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

  it('admits at most the limit, and all but one chunk per process of it, across two API processes sharing the database', async () => {
    const limit = 200;
    const chunk = Math.max(1, Math.floor(limit / 50)); // the share each process leases at a time
    const attempts = 400;
    const operatorId = `op_limit_${Date.now()}`;
    // Both processes must spend one window; starting them takes a few seconds on a busy machine.
    await stayInOneWindow(25_000);
    const processes = [0, 1].map(() => limiterProcess(stack.db.url, operatorId, limit, attempts));
    await Promise.all(processes.map((p) => p.ready));
    for (const p of processes) p.go();
    const runs = await Promise.all(processes.map((p) => p.result));
    expect(runs.map((r) => r.otherErrors)).toEqual([[], []]);
    const windows = new Set(runs.flatMap((r) => r.windows));
    expect(windows.size).toBe(1);
    for (const r of runs) expect(r.admitted + r.limited).toBe(attempts);
    const admitted = runs[0]!.admitted + runs[1]!.admitted;
    expect(admitted).toBeLessThanOrEqual(limit);
    // Each process may hold at most one leased chunk it has not spent; these kept asking to the end.
    expect(admitted).toBeGreaterThanOrEqual(limit - 2 * chunk);
    expect(runs.every((r) => r.admitted > 0)).toBe(true);
    const { rows } = await stack.db.pool.query<{ count: number }>(
      'select count from rate_limit_windows where operator_id = $1',
      [operatorId],
    );
    expect(rows).toEqual([{ count: limit }]);
  }, 90_000);
});

/** Waits for the next one-minute window if less than `needMs` is left of this one. */
async function stayInOneWindow(needMs: number): Promise<void> {
  const windowLeft = 60_000 - (Date.now() % 60_000);
  if (windowLeft < needMs) await new Promise((r) => setTimeout(r, windowLeft + 50));
}

interface LimiterRun {
  admitted: number;
  limited: number;
  otherErrors: string[];
  windows: number[];
}

/**
 * One limiter in a Node process of its own (test/support/processes/rate-limiter.ts), 8 requests
 * at a time; it spends its attempts once told to go, so that both processes compete.
 */
function limiterProcess(databaseUrl: string, operatorId: string, limit: number, attempts: number) {
  const script = path.join(__dirname, '..', 'support', 'processes', 'rate-limiter.ts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, databaseUrl, operatorId, String(limit), String(attempts), '8'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  let signalReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  const result = new Promise<LimiterRun>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') signalReady();
      else resolve(JSON.parse(line) as LimiterRun);
    });
    child.on('exit', (code) => {
      signalReady(); // the failure then surfaces through `result`
      reject(new Error(`rate-limiter process exited with ${code}`));
    });
  });
  return { ready, result, go: () => child.stdin.write('go\n') };
}
