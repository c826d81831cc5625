import { MAX_WEBHOOK_ENDPOINTS } from '../../core/db/webhooks';
import { expectError, ISO_MS } from '../support/expect';
import { P } from '../support/http';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ENDPOINT_ID = /^wep_[0-9a-f]{16}$/;
const MASKED = /^whsec_….{4}$/;

describe('webhook endpoints', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });
  const operator = () => newOperator(stack.db.pool, stack.baseUrl);

  it('POST /webhooks/endpoints creates an endpoint and shows its generated secret in full once; GET masks it', async () => {
    const op = await operator();
    const created = await op.client.post(`${P}/webhooks/endpoints`, {
      url: 'https://risk.example.com/hooks',
      description: 'Risk team',
      events: ['entity_event.*'],
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({
      id: expect.stringMatching(ENDPOINT_ID),
      url: 'https://risk.example.com/hooks',
      description: 'Risk team',
      events: ['entity_event.*'],
      enabled: true,
      rateLimitPerSecond: null,
      disabledReason: null,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
      previousSecretExpiresAt: null,
      createdAt: expect.stringMatching(ISO_MS),
      updatedAt: expect.stringMatching(ISO_MS),
    });
    const { id, secret } = created.body.data;
    const one = await op.client.get(`${P}/webhooks/endpoints/${id}`);
    expect(one.body.data).toEqual({ ...created.body.data, secret: `whsec_…${secret.slice(-4)}` });
    const list = await op.client.get(`${P}/webhooks/endpoints`);
    expect(list.body.data).toEqual([one.body.data]);
  });

  it('lists several endpoints oldest first, including the PUT /webhooks shorthand endpoint, which GET /webhooks shows', async () => {
    const op = await operator();
    const shorthand = await op.client.put(`${P}/webhooks`, {
      url: 'https://a.example.com/h',
      secret: SECRET,
    });
    const second = await op.client.post(`${P}/webhooks/endpoints`, {
      url: 'https://b.example.com/h',
      events: ['*'],
      enabled: false,
    });
    const list = await op.client.get(`${P}/webhooks/endpoints`);
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([
      shorthand.body.data.id,
      second.body.data.id,
    ]);
    expect(list.body.data.map((e: { enabled: boolean }) => e.enabled)).toEqual([true, false]);
    for (const e of list.body.data) expect(e.secret).toMatch(MASKED);

    // PUT again replaces the shorthand endpoint in place: same id, no third endpoint.
    const again = await op.client.put(`${P}/webhooks`, {
      url: 'https://c.example.com/h',
      events: ['entity.*'],
    });
    expect(again.body.data.id).toBe(shorthand.body.data.id);
    expect((await op.client.get(`${P}/webhooks`)).body.data).toMatchObject({
      id: shorthand.body.data.id,
      url: 'https://c.example.com/h',
      events: ['entity.*'],
    });
    expect((await op.client.get(`${P}/webhooks/endpoints`)).body.data).toHaveLength(2);
  });

  it('PATCH changes only the fields given; DELETE removes the endpoint, after which it is 404 NOT_FOUND', async () => {
    const op = await operator();
    const { id } = (
      await op.client.post(`${P}/webhooks/endpoints`, {
        url: 'https://x.example.com/h',
        description: 'before',
        events: ['entity.*'],
      })
    ).body.data;
    const patched = await op.client.patch(`${P}/webhooks/endpoints/${id}`, { enabled: false, events: ['*'] });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({
      id,
      url: 'https://x.example.com/h',
      description: 'before',
      events: ['*'],
      enabled: false,
    });
    expect(
      (await op.client.patch(`${P}/webhooks/endpoints/${id}`, { url: 'https://y.example.com/h' })).body.data,
    ).toMatchObject({
      url: 'https://y.example.com/h',
      enabled: false,
      events: ['*'],
      rateLimitPerSecond: null,
    });
    expect(
      (await op.client.patch(`${P}/webhooks/endpoints/${id}`, { rateLimitPerSecond: 5 })).body.data,
    ).toMatchObject({ rateLimitPerSecond: 5, url: 'https://y.example.com/h' });
    expect(
      (await op.client.patch(`${P}/webhooks/endpoints/${id}`, { description: 'x' })).body.data
        .rateLimitPerSecond,
    ).toBe(5);
    expect(
      (await op.client.patch(`${P}/webhooks/endpoints/${id}`, { rateLimitPerSecond: null })).body.data
        .rateLimitPerSecond,
    ).toBeNull();

    const deleted = await op.client.delete(`${P}/webhooks/endpoints/${id}`);
    expect(deleted.body).toEqual({ success: true, data: { id, deleted: true } });
    expectError(await op.client.get(`${P}/webhooks/endpoints/${id}`), 404, 'NOT_FOUND');
    expectError(await op.client.delete(`${P}/webhooks/endpoints/${id}`), 404, 'NOT_FOUND');
    expect((await op.client.get(`${P}/webhooks/endpoints`)).body.data).toEqual([]);
  });

  it(`refuses an endpoint beyond the maximum (${MAX_WEBHOOK_ENDPOINTS}) with 400 VALIDATION_FAILED, via either route`, async () => {
    const op = await operator();
    for (let i = 0; i < MAX_WEBHOOK_ENDPOINTS; i++) {
      const res = await op.client.post(`${P}/webhooks/endpoints`, { url: `https://h${i}.example.com/h` });
      expect(res.status).toBe(201);
    }
    const over = await op.client.post(`${P}/webhooks/endpoints`, { url: 'https://over.example.com/h' });
    expectError(over, 400, 'VALIDATION_FAILED');
    expect(over.body.error.message).toContain(String(MAX_WEBHOOK_ENDPOINTS));
    expectError(
      await op.client.put(`${P}/webhooks`, { url: 'https://over.example.com/h' }),
      400,
      'VALIDATION_FAILED',
    );
    expect((await op.client.get(`${P}/webhooks/endpoints`)).body.data).toHaveLength(MAX_WEBHOOK_ENDPOINTS);
  });

  it("answers 404 NOT_FOUND for another operator's endpoint, and changes nothing of it", async () => {
    const owner = await operator();
    const other = await operator();
    const { id } = (await owner.client.post(`${P}/webhooks/endpoints`, { url: 'https://own.example.com/h' }))
      .body.data;
    for (const res of [
      await other.client.get(`${P}/webhooks/endpoints/${id}`),
      await other.client.patch(`${P}/webhooks/endpoints/${id}`, { enabled: false }),
      await other.client.post(`${P}/webhooks/endpoints/${id}/rotate-secret`),
      await other.client.delete(`${P}/webhooks/endpoints/${id}`),
    ]) {
      expectError(res, 404, 'NOT_FOUND');
      expect(JSON.stringify(res.body)).not.toContain('own.example.com');
    }
    expect((await other.client.get(`${P}/webhooks/endpoints`)).body.data).toEqual([]);
    expect((await owner.client.get(`${P}/webhooks/endpoints/${id}`)).body.data).toMatchObject({
      enabled: true,
      previousSecretExpiresAt: null,
    });
  });

  it('refuses bad input with 400 and creates nothing', async () => {
    const op = await operator();
    for (const bad of [
      { url: 'ftp://example.com/a' },
      { url: 'https://example.com/a', events: ['entity_event.*.x'] },
      { url: 'https://example.com/a', secret: 'whsec_c2hvcnQ=' },
      { url: 'https://example.com/a', enabled: 'yes' },
      { url: 'https://example.com/a', unknown: 1 },
      { url: 'https://example.com/a', description: 'x'.repeat(501) },
      { url: 'https://example.com/a', rateLimitPerSecond: 0 },
      { url: 'https://example.com/a', rateLimitPerSecond: 1.5 },
    ]) {
      expectError(await op.client.post(`${P}/webhooks/endpoints`, bad), 400, 'VALIDATION_FAILED');
    }
    expectError(await op.client.post(`${P}/webhooks/endpoints`, {}), 400, 'MISSING_FIELDS');
    expect((await op.client.get(`${P}/webhooks/endpoints`)).body.data).toEqual([]);

    const { id } = (await op.client.post(`${P}/webhooks/endpoints`, { url: 'https://ok.example.com/h' })).body
      .data;
    expectError(await op.client.patch(`${P}/webhooks/endpoints/${id}`, {}), 400, 'VALIDATION_FAILED');
    expectError(
      await op.client.patch(`${P}/webhooks/endpoints/${id}`, { url: 'nope' }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await op.client.get(`${P}/webhooks/endpoints/not-an-id`), 400, 'VALIDATION_FAILED');
    expectError(await op.client.get(`${P}/webhooks/endpoints/wep_0000000000000000`), 404, 'NOT_FOUND');
    expect((await op.client.get(`${P}/webhooks/endpoints/${id}`)).body.data.url).toBe(
      'https://ok.example.com/h',
    );
  });
});
