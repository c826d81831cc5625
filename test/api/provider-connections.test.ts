import { Writable } from 'node:stream';
import { resolveKycConnection } from '../../core/domain/provider-connections';
import { createLogger } from '../../core/logger';
import { PiiCipher } from '../../core/security/pii';
import { expectError, ISO_MS } from '../support/expect';
import { P } from '../support/http';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

jest.setTimeout(60_000);

const CREDS = { appToken: 'sbx:zq-app-token-7f3a91', secretKey: 'zq-sumsub-secret-key-5be0c2' };
const WEBHOOK_SECRET = 'zq-sumsub-webhook-secret-9d81e4';

describe('KYC provider connections', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  let stack: TestStack;
  let pii: PiiCipher;
  beforeAll(async () => {
    stack = await startStack({ log: createLogger('debug', 'test', sink) });
    pii = new PiiCipher(stack.config.PII_MASTER_KEY);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('creates one per operator, shows the webhook secret once and the credentials never', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const created = await op.client.post(`${P}/providers/connections`, {
      provider: 'sumsub',
      credentials: CREDS,
      settings: { levelName: 'id-and-liveness' },
      webhookSecret: WEBHOOK_SECRET,
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({
      id: expect.stringMatching(/^pcn_[0-9a-f]{16}$/),
      provider: 'sumsub',
      baseUrl: null,
      settings: { levelName: 'id-and-liveness' },
      webhookPath: `/operator-data-api/providers/sumsub/webhooks/${created.body.data.id}`,
      createdAt: expect.stringMatching(ISO_MS),
      rotatedAt: null,
      previousWebhookSecretExpiresAt: null,
      webhookSecret: WEBHOOK_SECRET,
    });
    const id = created.body.data.id;
    const reads = [
      await op.client.get(`${P}/providers/connections`),
      await op.client.get(`${P}/providers/connections/${id}`),
      await op.client.post(`${P}/providers/connections/${id}/rotate`, {
        credentials: { appToken: 'sbx:zq-app-token-rotated', secretKey: 'zq-sumsub-secret-rotated' },
      }),
    ];
    for (const r of reads) {
      expect(r.status).toBe(200);
      const text = JSON.stringify(r.body);
      for (const secret of [WEBHOOK_SECRET, CREDS.appToken, CREDS.secretKey, 'zq-sumsub-secret-rotated'])
        expect(text).not.toContain(secret);
    }
    expect(reads[2]!.body.data.webhookSecret).toBeUndefined();
    expect(reads[2]!.body.data.rotatedAt).toMatch(ISO_MS);

    const second = await op.client.post(`${P}/providers/connections`, { provider: 'sandbox' });
    expectError(second, 400, 'VALIDATION_FAILED');
  });

  it('stores credentials and the webhook secret sealed: no clear text in the row, bound to operator and connection', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const { id } = (
      await op.client.post(`${P}/providers/connections`, {
        provider: 'sumsub',
        credentials: CREDS,
        webhookSecret: WEBHOOK_SECRET,
      })
    ).body.data;
    const { rows } = await stack.db.pool.query(
      'select credentials, webhook_secret, settings::text as settings from provider_connections where id = $1',
      [id],
    );
    const row = rows[0];
    const raw = Buffer.concat([row.credentials, row.webhook_secret]).toString('latin1') + row.settings;
    for (const s of [CREDS.appToken, CREDS.secretKey, WEBHOOK_SECRET]) expect(raw).not.toContain(s);
    expect(
      pii.openSecret(op.operatorId, `provider_connection:${id}:webhook_secret`, row.webhook_secret),
    ).toBe(WEBHOOK_SECRET);
    // Moved to another operator or another field, the ciphertext does not open.
    expect(() =>
      pii.openSecret('op_someoneelse', `provider_connection:${id}:webhook_secret`, row.webhook_secret),
    ).toThrow();
    expect(() =>
      pii.openSecret(op.operatorId, `provider_connection:${id}:credentials`, row.webhook_secret),
    ).toThrow();
  });

  it("requires Onfido's webhook token, refuses credentials of another provider's shape, and a private base URL only when private networks are refused", async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    expectError(
      await op.client.post(`${P}/providers/connections`, {
        provider: 'onfido',
        credentials: { apiToken: 't' },
      }),
      400,
      'MISSING_FIELDS',
    );
    expectError(
      await op.client.post(`${P}/providers/connections`, {
        provider: 'sumsub',
        credentials: { apiToken: 't' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    const sandbox = await op.client.post(`${P}/providers/connections`, { provider: 'sandbox' });
    expect(sandbox.status).toBe(201);
    expect(sandbox.body.data.webhookSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expectError(
      await op.client.post(`${P}/providers/connections/${sandbox.body.data.id}/rotate`, {
        credentials: { appToken: 'x', secretKey: 'y' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(
      await op.client.post(`${P}/providers/connections/${sandbox.body.data.id}/rotate`, {}),
      400,
      'VALIDATION_FAILED',
    );
  });

  it("answers 404 for another operator's connection on every route, and deletes only one's own", async () => {
    const a = await newOperator(stack.db.pool, stack.baseUrl);
    const b = await newOperator(stack.db.pool, stack.baseUrl);
    const id = (await a.client.post(`${P}/providers/connections`, { provider: 'sandbox' })).body.data.id;
    expectError(await b.client.get(`${P}/providers/connections/${id}`), 404, 'NOT_FOUND');
    expectError(
      await b.client.post(`${P}/providers/connections/${id}/rotate`, { generateWebhookSecret: true }),
      404,
      'NOT_FOUND',
    );
    expectError(await b.client.delete(`${P}/providers/connections/${id}`), 404, 'NOT_FOUND');
    expect((await b.client.get(`${P}/providers/connections`)).body.data).toEqual([]);
    expect((await a.client.delete(`${P}/providers/connections/${id}`)).status).toBe(200);
    expectError(await a.client.get(`${P}/providers/connections/${id}`), 404, 'NOT_FOUND');
  });

  it('resolves a connection for the KYC activities: its own; else the local sandbox in test mode; else "KYC not configured" in live mode', async () => {
    const live = await newOperator(stack.db.pool, stack.baseUrl);
    const test = await newOperator(stack.db.pool, stack.baseUrl, { mode: 'test' });
    const now = new Date();
    expect(await resolveKycConnection(stack.db.pool, pii, live.operatorId, now)).toEqual({
      kind: 'not_configured',
      alert: 'kyc_not_configured',
      message: expect.stringContaining('KYC is not configured'),
    });
    expect(await resolveKycConnection(stack.db.pool, pii, test.operatorId, now)).toEqual({
      kind: 'local_sandbox',
    });
    await live.client.post(`${P}/providers/connections`, {
      provider: 'sumsub',
      credentials: CREDS,
      webhookSecret: WEBHOOK_SECRET,
    });
    const resolved = await resolveKycConnection(stack.db.pool, pii, live.operatorId, now);
    expect(resolved).toMatchObject({
      kind: 'connection',
      connection: {
        provider: 'sumsub',
        operatorId: live.operatorId,
        credentials: CREDS,
        webhookSecrets: [WEBHOOK_SECRET],
      },
    });
  });

  it('never logs a credential or a webhook secret', () => {
    expect(lines.some((l) => l.includes('"msg":"request"') && l.includes('/providers/connections'))).toBe(
      true,
    );
    for (const secret of [CREDS.appToken, CREDS.secretKey, WEBHOOK_SECRET, 'zq-sumsub-secret-rotated'])
      expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  });
});
