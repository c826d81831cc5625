import { recordKycCheck } from '../../core/db/kyc-checks';
import { createHmac } from 'node:crypto';
import { createProviderCheck, type ProviderCheckDeps } from '../../activities/kyc/providers';
import { onfidoClient } from '../../activities/kyc/providers/onfido';
import { sumsubClient } from '../../activities/kyc/providers/sumsub';
import { startKycSandbox, type KycSandbox } from '../../activities/kyc/sandbox-server';
import { SUMSUB_RETRY_SCHEDULE_MS } from '../../activities/kyc/sandbox-webhooks';
import { requestJson } from '../../activities/http';
import { PiiCipher } from '../../core/security/pii';
import { systemResolver } from '../../core/security/webhook-destination';
import { fakeApi } from '../support/fake-api';
import { P } from '../support/http';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';
import { eventually } from '../support/workflow-harness';

jest.setTimeout(90_000);

const http_ = (method: 'GET' | 'POST', url: string, o: { body?: string; headers: Record<string, string> }) =>
  requestJson(fetch, method, url, { ...o, timeoutMs: 2000 });

describe('KYC provider clients', () => {
  it('Sumsub: signs each request with the Secret Key, and a repeat for the same player finds the applicant instead of creating another', async () => {
    const applicants = new Map<string, string>();
    const api = await fakeApi((r) => {
      const ts = String(r.headers['x-app-access-ts']);
      // Recomputed here from Sumsub's documented rule, not with the client's code.
      const expected = createHmac('sha256', 'sumsub-secret-key')
        .update(ts + r.method + r.url + r.body)
        .digest('hex');
      if (r.headers['x-app-token'] !== 'sbx:app' || r.headers['x-app-access-sig'] !== expected)
        return [401, { description: 'bad signature' }];
      if (r.method === 'POST' && r.url.startsWith('/resources/applicants?levelName=basic-kyc-level')) {
        const { externalUserId } = JSON.parse(r.body);
        if (applicants.has(externalUserId)) return [409, { description: 'already exists' }];
        applicants.set(externalUserId, `app-${applicants.size + 1}`);
        return [201, { id: applicants.get(externalUserId), externalUserId }];
      }
      const one = /^\/resources\/applicants\/-;externalUserId=([^/]+)\/one$/.exec(r.url);
      if (r.method === 'GET' && one) return [200, { id: applicants.get(decodeURIComponent(one[1]!)) }];
      if (r.method === 'POST' && /\/status\/pending$/.test(r.url)) return [200, { ok: 1 }];
      return [404, {}];
    });
    try {
      const client = sumsubClient({
        baseUrl: api.url,
        appToken: 'sbx:app',
        secretKey: 'sumsub-secret-key',
        levelName: 'basic-kyc-level',
        http: http_,
        now: () => new Date(),
      });
      const first = await client.createCheck({ applicantId: 'player 1', reference: 'eev_1' }, 'wf-1');
      const again = await client.createCheck({ applicantId: 'player 1', reference: 'eev_1' }, 'wf-1');
      expect(first).toEqual({ provider: 'sumsub', checkId: 'app-1', status: 'pending' });
      expect(again).toEqual(first);
      expect(applicants.size).toBe(1);
      expect(api.seen.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual([
        'POST /resources/applicants',
        'POST /resources/applicants/app-1/status/pending',
        'POST /resources/applicants',
        'GET /resources/applicants/-;externalUserId=player%201/one',
        'POST /resources/applicants/app-1/status/pending',
      ]);
      const wrong = sumsubClient({
        baseUrl: api.url,
        appToken: 'sbx:app',
        secretKey: 'other',
        levelName: 'basic-kyc-level',
        http: http_,
        now: () => new Date(),
      });
      await expect(wrong.createCheck({ applicantId: 'p2', reference: 'e' }, 'k')).rejects.toMatchObject({
        type: 'KycRequestRejected',
        nonRetryable: true,
      });
    } finally {
      await api.close();
    }
  });

  it('Onfido: creates applicant then check with the API token, and reads clear as approved, consider as review, a reopened check as not ready and a withdrawn one as ended', async () => {
    const api = await fakeApi((r) => {
      if (r.headers.authorization !== 'Token token=onfido-api-token') return [401, {}];
      if (r.method === 'POST' && r.url === '/v3.6/applicants') return [201, { id: 'applicant-uuid' }];
      if (r.method === 'POST' && r.url === '/v3.6/checks')
        return [201, { id: 'check-uuid', status: 'in_progress' }];
      if (r.method === 'GET' && r.url === '/v3.6/checks/check-clear')
        return [200, { id: 'check-clear', status: 'complete', result: 'clear' }];
      if (r.method === 'GET' && r.url === '/v3.6/checks/check-consider')
        return [200, { id: 'check-consider', status: 'complete', result: 'consider' }];
      if (r.method === 'GET' && r.url === '/v3.6/checks/check-reopened')
        return [200, { id: 'check-reopened', status: 'reopened', result: null }];
      if (r.method === 'GET' && r.url === '/v3.6/checks/check-withdrawn')
        return [200, { id: 'check-withdrawn', status: 'withdrawn', result: null }];
      return [404, {}];
    });
    try {
      const client = onfidoClient({
        baseUrl: api.url,
        apiToken: 'onfido-api-token',
        reportNames: ['document'],
        http: http_,
        now: () => new Date(),
      });
      expect(await client.createCheck({ applicantId: 'p1', reference: 'eev_2' }, 'wf-2')).toEqual({
        provider: 'onfido',
        checkId: 'check-uuid',
        status: 'pending',
      });
      expect(JSON.parse(api.seen[1]!.body)).toEqual({
        applicant_id: 'applicant-uuid',
        report_names: ['document'],
        tags: ['eev_2'],
      });
      expect(await client.readCheckResult('check-clear')).toEqual({ result: 'approved' });
      expect(await client.readCheckResult('check-consider')).toEqual({ result: 'review' });
      expect(await client.readCheckResult('check-reopened')).toEqual({ result: null });
      expect(await client.readCheckResult('check-withdrawn')).toEqual({
        result: null,
        ended: 'check_withdrawn',
      });
    } finally {
      await api.close();
    }
  });
});

describe('the sandbox provider, asynchronous like a real one', () => {
  let stack: TestStack;
  let sandbox: KycSandbox;
  let deps: ProviderCheckDeps;
  beforeAll(async () => {
    stack = await startStack();
    sandbox = await startKycSandbox({
      apiKey: 'sandbox-key',
      delivery: { delayMs: 300, reverseAfterMs: 300 },
      retryScale: 1 / 60_000,
    });
    deps = {
      pool: stack.db.pool,
      pii: new PiiCipher(stack.config.PII_MASTER_KEY),
      config: { ...stack.config, PUBLIC_API_URL: stack.baseUrl, KYC_PROVIDER_URL: sandbox.url },
      fetch,
      now: () => new Date(),
      resolveHost: systemResolver,
    };
  });
  afterAll(async () => {
    await sandbox?.close();
    await stack?.close();
  });

  const connect = async (op: Awaited<ReturnType<typeof newOperator>>) => {
    const res = await op.client.post(`${P}/providers/connections`, {
      provider: 'sandbox',
      credentials: { apiKey: 'sandbox-key' },
    });
    expect(res.status).toBe(201);
    return res.body.data as { id: string };
  };
  const inboxOf = async (op: Awaited<ReturnType<typeof newOperator>>) =>
    (await op.client.get(`${P}/providers/deliveries?limit=100`)).body.data as any[];

  it("answers pending at once, then delivers the result by signed webhook into the operator's inbox; a retried request creates nothing new", async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const conn = await connect(op);
    const input = { operatorId: op.operatorId, externalId: 'player_async_1', reference: 'eev_a1' };
    const started = Date.now();
    const first = await createProviderCheck(deps, input, 'entity_event.transaction:eev_a1');
    expect(Date.now() - started).toBeLessThan(300);
    expect(first).toEqual({
      outcome: 'pending',
      provider: 'sandbox',
      connectionId: conn.id,
      checkId: expect.stringMatching(/^chk_/),
    });
    // As the activity does (requestProviderCheck): the result's webhook finds its entity by it.
    await recordKycCheck(stack.db.pool, {
      operatorId: op.operatorId,
      provider: 'sandbox',
      checkId: (first as { checkId: string }).checkId,
      applicantId: 'player_async_1',
      externalId: 'player_async_1',
      workflowId: 'entity_event.transaction:eev_a1',
    });
    const again = await createProviderCheck(deps, input, 'entity_event.transaction:eev_a1');
    expect(again).toEqual(first);
    expect(sandbox.checks.filter((c) => c.idempotencyKey === 'entity_event.transaction:eev_a1')).toHaveLength(
      1,
    );
    expect(await inboxOf(op)).toEqual([]);
    const rows = await eventually(async () => {
      const r = await inboxOf(op);
      return r.length > 0 ? r : undefined;
    }, 10_000);
    expect(rows).toEqual([
      expect.objectContaining({
        connectionId: conn.id,
        provider: 'sandbox',
        checkId: (first as any).checkId,
        applicantId: 'player_async_1',
        result: 'approved',
        externalId: 'player_async_1',
        // No worker in this stack: recorded and mapped to the player, not applied yet.
        outcome: 'pending',
      }),
    ]);
  });

  it("chooses outcomes by the applicant's name, and a reverse… applicant is approved then later rejected", async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await connect(op);
    const ids: Record<string, string> = {};
    for (const name of ['reject_1', 'review_1', 'reverse_1']) {
      const r = await createProviderCheck(
        deps,
        { operatorId: op.operatorId, externalId: name, reference: name },
        `wf-${name}`,
      );
      ids[name] = (r as any).checkId;
    }
    const rows = await eventually(async () => {
      const r = await inboxOf(op);
      return r.length >= 4 ? r : undefined;
    }, 15_000);
    const byCheck = (id: string) =>
      rows
        .filter((d) => d.checkId === id)
        .sort((a, b) => a.providerTimestamp.localeCompare(b.providerTimestamp))
        .map((d) => d.result);
    expect(byCheck(ids.reject_1!)).toEqual(['rejected']);
    expect(byCheck(ids.review_1!)).toEqual(['review']);
    expect(byCheck(ids.reverse_1!)).toEqual(['approved', 'rejected']);
  });

  it('told to deliver twice and out of order: the later result arrives first, each twice, and the inbox keeps each once', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await connect(op);
    await fetch(`${sandbox.url}/v2/sandbox/delivery`, {
      method: 'PUT',
      body: JSON.stringify({ twice: true, outOfOrder: true }),
    });
    try {
      const r = await createProviderCheck(
        deps,
        { operatorId: op.operatorId, externalId: 'reverse_2', reference: 'x' },
        'wf-reverse-2',
      );
      const checkId = (r as any).checkId as string;
      const attempts = await eventually(async () => {
        const a = sandbox.webhooks.attempts.filter((x) => x.checkId === checkId);
        return a.length >= 4 ? a : undefined;
      }, 10_000);
      expect(attempts.map((a) => [a.result, a.status])).toEqual([
        ['rejected', 200],
        ['rejected', 200],
        ['approved', 200],
        ['approved', 200],
      ]);
      const rows = (await inboxOf(op)).filter((d) => d.checkId === checkId);
      expect(rows.map((d) => d.result).sort()).toEqual(['approved', 'rejected']);
      // The provider's own timestamps still say which came last, whatever the arrival order.
      const latest = rows.reduce((a, b) => (a.providerTimestamp > b.providerTimestamp ? a : b));
      expect(latest.result).toBe('rejected');
    } finally {
      await fetch(`${sandbox.url}/v2/sandbox/delivery`, {
        method: 'PUT',
        body: JSON.stringify({ twice: false, outOfOrder: false }),
      });
    }
  });

  it('told to hold: sends nothing until released, then every held result as one batch, paced gapMs apart', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await connect(op);
    const mode = (m: Record<string, unknown>) =>
      fetch(`${sandbox.url}/v2/sandbox/delivery`, { method: 'PUT', body: JSON.stringify(m) });
    expect((await mode({ hold: true, gapMs: 200 })).status).toBe(200);
    try {
      const ids: string[] = [];
      for (const i of [1, 2, 3]) {
        const r = await createProviderCheck(
          deps,
          { operatorId: op.operatorId, externalId: `held_${i}`, reference: `h${i}` },
          `wf-held-${i}`,
        );
        ids.push((r as any).checkId as string);
      }
      const sent = () => sandbox.webhooks.attempts.filter((a) => ids.includes(a.checkId));
      // Well past the 300 ms delay: nothing goes out while held.
      await new Promise((res) => setTimeout(res, 1200));
      expect(sent()).toEqual([]);
      expect(sandbox.webhooks.pending()).toBeGreaterThanOrEqual(3);
      await mode({ hold: false });
      const attempts = await eventually(async () => (sent().length >= 3 ? sent() : undefined), 10_000);
      expect(attempts.map((a) => [a.checkId, a.status])).toEqual(ids.map((id) => [id, 200]));
      const gaps = attempts.slice(1).map((a, i) => a.at.getTime() - attempts[i]!.at.getTime());
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(190);
    } finally {
      await mode({ hold: false, gapMs: 0 });
    }
  });

  it("retries a failed delivery on Sumsub's schedule, compressed, and gives up after the fourth resend", async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const conn = await connect(op);
    const r = await createProviderCheck(
      deps,
      { operatorId: op.operatorId, externalId: 'player_retry', reference: 'x' },
      'wf-retry',
    );
    // The receiver refuses from now on: the connection is gone (404 for every attempt).
    await op.client.delete(`${P}/providers/connections/${conn.id}`);
    const checkId = (r as any).checkId as string;
    const attempts = await eventually(async () => {
      const a = sandbox.webhooks.attempts.filter((x) => x.checkId === checkId);
      return a.length >= 5 ? a : undefined;
    }, 15_000);
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 404]));
    const gaps = attempts.slice(1).map((a, i) => a.at.getTime() - attempts[i]!.at.getTime());
    SUMSUB_RETRY_SCHEDULE_MS.forEach((ms, i) =>
      expect(gaps[i]).toBeGreaterThanOrEqual(Math.round(ms / 60_000) - 5),
    );
    expect(gaps[3]).toBeGreaterThan(gaps[0]!); // 18 h compressed is longer than 5 min compressed
    await new Promise((res) => setTimeout(res, 1500));
    expect(sandbox.webhooks.attempts.filter((x) => x.checkId === checkId)).toHaveLength(5);
  });

  it('resolves no connection to the local sandbox\'s immediate answer in test mode and to "not configured" in live mode', async () => {
    const live = await newOperator(stack.db.pool, stack.baseUrl);
    const test = await newOperator(stack.db.pool, stack.baseUrl, { mode: 'test' });
    expect(
      await createProviderCheck(
        deps,
        { operatorId: live.operatorId, externalId: 'p', reference: 'x' },
        'wf-live',
      ),
    ).toEqual({
      outcome: 'not_configured',
      alert: 'kyc_not_configured',
      message: expect.stringContaining('KYC is not configured'),
    });
    const local = await createProviderCheck(
      { ...deps, config: { ...deps.config, KYC_PROVIDER_API_KEY: 'sandbox-key' } },
      { operatorId: test.operatorId, externalId: 'review_local', reference: 'x' },
      'wf-test',
    );
    expect(local).toMatchObject({
      outcome: 'completed',
      provider: 'sandbox',
      connectionId: null,
      check: { status: 'review' },
    });
  });

  it("calls an operator's provider base URL at the address resolved once and checked (pinned), never through a second lookup", async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const baseUrl = `http://kyc-sandbox.test:${new URL(sandbox.url).port}`;
    expect(
      (
        await op.client.post(`${P}/providers/connections`, {
          provider: 'sandbox',
          credentials: { apiKey: 'sandbox-key' },
          baseUrl,
        })
      ).status,
    ).toBe(201);
    // The first lookup answers loopback (allowed: this stack allows private networks); any
    // later one would answer an unroutable address. `.test` resolves nowhere else, and the
    // plain fetch (which would look the name up again) throws: only the pinned address reaches
    // the sandbox.
    const lookups: string[] = [];
    const pinned: ProviderCheckDeps = {
      ...deps,
      resolveHost: async (host) => {
        lookups.push(host);
        return [{ address: lookups.length === 1 ? '127.0.0.1' : '203.0.113.9', family: 4 }];
      },
      fetch: (() => {
        throw new Error('an operator-chosen URL must not go through the plain fetch');
      }) as typeof fetch,
    };
    const before = sandbox.calls.length;
    const out = await createProviderCheck(
      pinned,
      { operatorId: op.operatorId, externalId: 'player_pinned', reference: 'eev_p1' },
      'wf-pinned',
    );
    expect(out).toMatchObject({ outcome: 'pending', provider: 'sandbox' });
    expect(lookups).toEqual(['kyc-sandbox.test']);
    expect(sandbox.calls.length).toBe(before + 1);

    // Checked on what it resolved to: a name answering one private address among public ones is
    // refused without a connection (a strict worker, as in production).
    const strictOp = await newOperator(stack.db.pool, stack.baseUrl);
    await strictOp.client.post(`${P}/providers/connections`, {
      provider: 'sandbox',
      baseUrl: 'https://kyc-provider.test/',
    });
    const mixed: string[] = [];
    await expect(
      createProviderCheck(
        {
          ...pinned,
          config: { ...deps.config, WEBHOOK_ALLOW_PRIVATE_NETWORKS: false },
          resolveHost: async (host) => {
            mixed.push(host);
            return [
              { address: '93.184.216.34', family: 4 },
              { address: '10.0.0.8', family: 4 },
            ];
          },
        },
        { operatorId: strictOp.operatorId, externalId: 'p', reference: 'x' },
        'wf-mixed',
      ),
    ).rejects.toMatchObject({ type: 'KycDestinationRefused', nonRetryable: true });
    expect(mixed).toEqual(['kyc-provider.test']);
    expect(sandbox.calls.length).toBe(before + 1);
  });

  it("refuses an operator's provider base URL that the webhook destination rule refuses, without calling it (non-retryable)", async () => {
    const before = sandbox.calls.length;
    for (const baseUrl of [sandbox.url, 'https://[2002:a00:1::1]/', 'https://10.0.0.8/']) {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      // Accepted here because this stack allows private networks; the worker below does not.
      expect(
        (await op.client.post(`${P}/providers/connections`, { provider: 'sandbox', baseUrl })).status,
      ).toBe(201);
      const strict = { ...deps, config: { ...deps.config, WEBHOOK_ALLOW_PRIVATE_NETWORKS: false } };
      await expect(
        createProviderCheck(
          strict,
          { operatorId: op.operatorId, externalId: 'p', reference: 'x' },
          'wf-ssrf',
        ),
      ).rejects.toMatchObject({
        type: 'KycDestinationRefused',
        nonRetryable: true,
      });
    }
    expect(sandbox.calls.length).toBe(before);
  });
});
