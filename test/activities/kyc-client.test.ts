import { ApplicationFailure } from '@temporalio/common';
import { createKycClient, retryAfterMs } from '../../activities/kyc/client';
import { HttpUnreachableError } from '../../activities/http';
import { startKycSandbox, type KycSandbox } from '../../activities/kyc/sandbox-server';

describe('KYC provider client (against the sandbox provider)', () => {
  let sandbox: KycSandbox;
  const now = new Date('2026-04-06T12:00:00.000Z');
  const client = (o: { apiKey?: string; timeoutMs?: number } = {}) =>
    createKycClient({
      baseUrl: sandbox.url,
      apiKey: o.apiKey ?? 'sandbox-key',
      timeoutMs: o.timeoutMs ?? 2000,
      fetch,
      now: () => now,
    });
  const request = (applicantId: string) => ({
    applicantId,
    operatorReference: 'op_1',
    reference: 'eev_0000000000000001',
    amount: 10,
    currency: 'GBP',
  });
  const failureOf = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: unknown) => err,
    );

  beforeAll(async () => {
    sandbox = await startKycSandbox({ apiKey: 'sandbox-key', slowMs: 1500 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('creates a check once per Idempotency-Key: a repeat gets the same check and no second side effect', async () => {
    const first = await client().createCheck(request('approve_a'), 'key-a');
    const again = await client().createCheck(request('approve_a'), 'key-a');
    expect(first).toEqual({
      id: expect.stringMatching(/^chk_/),
      status: 'approved',
      createdAt: expect.any(String),
    });
    expect(again).toEqual(first);
    expect(sandbox.checks.filter((c) => c.idempotencyKey === 'key-a')).toHaveLength(1);
    expect(sandbox.calls.filter((c) => c.idempotencyKey === 'key-a').map((c) => c.status)).toEqual([
      201, 200,
    ]);
  });

  it('turns a refused request (422) into a non-retryable KycRequestRejected', async () => {
    const err = await failureOf(client().createCheck(request('invalid_a'), 'key-b'));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'KycRequestRejected', nonRetryable: true, details: [{ status: 422 }] });
  });

  it('treats a wrong API key (401) as non-retryable too', async () => {
    const err = await failureOf(client({ apiKey: 'wrong' }).createCheck(request('approve_b'), 'key-c'));
    expect(err).toMatchObject({ type: 'KycRequestRejected', nonRetryable: true, details: [{ status: 401 }] });
  });

  it('passes Retry-After of a 429 on as the next retry delay', async () => {
    const err = await failureOf(client().createCheck(request('ratelimited_a'), 'key-d'));
    expect(err).toMatchObject({ type: 'KycRateLimited', nextRetryDelay: 1000 });
    expect((err as ApplicationFailure).nonRetryable).toBeFalsy();
  });

  it('leaves a 503 retryable', async () => {
    const err = await failureOf(client().createCheck(request('flaky_a'), 'key-e'));
    expect(err).toMatchObject({ type: 'KycProviderUnavailable' });
    expect((err as ApplicationFailure).nonRetryable).toBeFalsy();
  });

  it('gives up on a slow answer at the timeout with an ordinary (retryable) error; the retry finds the check', async () => {
    const err = await failureOf(client({ timeoutMs: 300 }).createCheck(request('slow_a'), 'key-f'));
    expect(err).toBeInstanceOf(HttpUnreachableError);
    expect((err as Error).message).toContain('no answer within 300 ms');
    const retried = await client({ timeoutMs: 300 }).createCheck(request('slow_a'), 'key-f');
    expect(sandbox.checks.filter((c) => c.idempotencyKey === 'key-f')).toEqual([
      expect.objectContaining({ id: retried.id }),
    ]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Mon, 06 Apr 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
