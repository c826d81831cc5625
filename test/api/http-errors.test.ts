import { request } from 'node:http';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, api } from '../support/http';
import { expectError } from '../support/expect';

/** HTTP-level failures answer in the same envelope as every other error. */
describe('the error envelope at the HTTP edge', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const events = `${P}/entities/player_1/events`;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('404 NOT_FOUND for an unknown route, with or without a key', async () => {
    expectError(await op.client.get(`${P}/nothing-here`), 404, 'NOT_FOUND');
    expectError(await api(stack.baseUrl).get('/nothing-here'), 404, 'NOT_FOUND');
    expectError(await op.client.get(`${P}/entities/player_1/events/extra/segments`), 404, 'NOT_FOUND');
  });

  it('405 METHOD_NOT_ALLOWED with an Allow header for a known path and the wrong method', async () => {
    const patch = await op.client.call('PATCH', `${P}/entities`, { entityType: 'player' });
    expectError(patch, 405, 'METHOD_NOT_ALLOWED');
    expect(patch.headers.get('allow')).toBe('POST');
    const del = await op.client.delete(events);
    expectError(del, 405, 'METHOD_NOT_ALLOWED');
    expect(del.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('400 VALIDATION_FAILED for malformed JSON', async () => {
    const res = await op.client.post(events, '{"eventType": "session", "data": {');
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.message).toBe('Request body is not valid JSON');
  });

  it('400 VALIDATION_FAILED for a body that is not valid UTF-8', async () => {
    const res = await raw(
      stack.baseUrl,
      events,
      op.apiKey,
      'application/json',
      Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('VALIDATION_FAILED');
  });

  it('400 VALIDATION_FAILED when the body is missing or is not an object', async () => {
    expectError(await op.client.post(events), 400, 'VALIDATION_FAILED');
    expectError(await op.client.post(events, [{ eventType: 'session', data: {} }]), 400, 'VALIDATION_FAILED');
    expectError(
      await op.client.post(events, { eventType: 'session', data: ['not', 'an', 'object'] }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON', async () => {
    const res = await op.client.post(events, 'eventType=session', {
      'Content-Type': 'application/x-www-form-urlencoded',
    });
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const text = await op.client.post(events, JSON.stringify({ eventType: 'session', data: {} }), {
      'Content-Type': 'text/plain',
    });
    expectError(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await op.client.post(
      events,
      { eventType: 'session', data: {} },
      { 'Content-Type': 'application/json; charset=utf-8' },
    );
    expect(res.status).toBe(201);
  });

  it('413 PAYLOAD_TOO_LARGE for a body over the 256 KB limit, declared or streamed', async () => {
    const big = JSON.stringify({ eventType: 'support', data: { note: 'x'.repeat(300 * 1024) } });
    expectError(await op.client.post(events, big), 413, 'PAYLOAD_TOO_LARGE');
    const chunked = await raw(stack.baseUrl, events, op.apiKey, 'application/json', Buffer.from(big), {
      chunked: true,
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('sends JSON with the envelope and a request id on every error', async () => {
    const res = await op.client.get(`${P}/nothing-here`, { 'X-Request-Id': 'trace-123' });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBe('trace-123');
  });
});

/** A request with exact bytes (fetch would re-encode them) and optionally no Content-Length. */
function raw(
  baseUrl: string,
  path: string,
  apiKey: string,
  contentType: string,
  body: Buffer,
  opts: { chunked?: boolean } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      baseUrl + path,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${apiKey}`,
          'Content-Type': contentType,
          ...(opts.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': body.length }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    // The server may answer (413) and close before it has read everything we send.
    req.on('error', reject);
    if (opts.chunked) {
      for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}
