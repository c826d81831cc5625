import {
  DestinationRefusedError,
  assertPublicDestination,
  isPublicAddress,
  webhookUrlProblem,
} from '../../core/security/webhook-destination';
import { P } from '../support/http';
import { expectError } from '../support/expect';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

describe('webhook destinations: no server-side request forgery', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:808:808', true],
    ['not-an-address', false],
    ['8.8.8.8', true],
    ['172.32.0.1', true],
    ['::ffff:8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    // 6to4 (2002::/16) relays to the IPv4 address in its next 32 bits: 10.0.0.1, 127.0.0.1,
    // 169.254.169.254 here (passed before ipaddr.js classified addresses).
    ['2002:a00:1::1', false],
    ['2002:7f00:1::', false],
    ['2002:a9fe:a9fe::1', false],
    ['2002:808:808::1', true],
    ['64:ff9b::a00:1', false], // NAT64
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false], // Teredo
    ['2001:db8::1', false], // documentation
    ['198.51.100.7', false], // documentation
  ])('isPublicAddress(%s) is %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('refuses plain http, this host and private address literals when configured, unless allowed', () => {
    expect(webhookUrlProblem('http://hooks.example.com/x', false)).toBe('must use https');
    expect(webhookUrlProblem('https://localhost:8443/x', false)).toMatch(/this host/);
    expect(webhookUrlProblem('https://api.localhost/x', false)).toMatch(/this host/);
    for (const url of [
      'https://127.0.0.1/x',
      'https://[::1]:8443/x',
      'https://10.0.0.5/x',
      'https://169.254.169.254/latest',
      'https://[::ffff:127.0.0.1]/x', // normalised by URL to [::ffff:7f00:1]
    ])
      expect(webhookUrlProblem(url, false)).toMatch(/private, loopback or link-local/);
    expect(webhookUrlProblem('https://hooks.example.com/x', false)).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:9/x', true)).toBeUndefined();
  });

  it('checks at delivery what the host resolves to now (a name re-pointed at a private address)', async () => {
    // The resolver is injected: the machine has no public DNS; what is under test is the decision.
    const resolvingTo =
      (...addresses: string[]) =>
      async () =>
        addresses.map((address) => ({ address }));
    await expect(
      assertPublicDestination('https://hooks.example.com/x', false, resolvingTo('93.184.216.34', '10.0.0.7')),
    ).rejects.toThrow(DestinationRefusedError);
    await expect(
      assertPublicDestination('https://hooks.example.com/x', false, resolvingTo('93.184.216.34')),
    ).resolves.toBeUndefined();
    await expect(assertPublicDestination('https://127.0.0.1/x', false, resolvingTo())).rejects.toThrow(
      /private, loopback or link-local/,
    );
    // The real resolver, on a name the literal check lets through: refused whether it resolves
    // (to loopback) or not at all; either way nothing is sent.
    await expect(assertPublicDestination('https://localhost./x', false)).rejects.toThrow();
    await expect(assertPublicDestination('http://127.0.0.1:9/x', true)).resolves.toBeUndefined();
  });

  describe('PUT /webhooks with private networks not allowed (the production default)', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startStack({ configOverrides: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' } });
    });
    afterAll(async () => {
      await stack?.close();
    });

    it('answers 400 VALIDATION_FAILED naming the url for http, loopback, private and metadata addresses, and stores nothing', async () => {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      for (const url of [
        'http://hooks.example.com/x',
        'https://127.0.0.1:5432/',
        'https://localhost/x',
        'https://169.254.169.254/latest/meta-data',
        'https://[fd00::1]/x',
      ]) {
        const res = await op.client.put(`${P}/webhooks`, { url });
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual([{ field: 'url', reason: expect.any(String) }]);
      }
      const { rows } = await stack.db.pool.query('select 1 from webhook_endpoints where operator_id = $1', [
        op.operatorId,
      ]);
      expect(rows).toHaveLength(0);
      const ok = await op.client.put(`${P}/webhooks`, { url: 'https://hooks.example.com/x' });
      expect(ok.status).toBe(200);
      expect(ok.body.data.url).toBe('https://hooks.example.com/x');
    });

    it('refuses the same destinations for POST /webhooks/endpoints and PATCH /webhooks/endpoints/:id, changing nothing', async () => {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      const created = await op.client.post(`${P}/webhooks/endpoints`, { url: 'https://hooks.example.com/y' });
      expect(created.status).toBe(201);
      for (const url of [
        'http://hooks.example.com/x',
        'https://10.0.0.5/x',
        'https://[::ffff:127.0.0.1]/x',
      ]) {
        const post = await op.client.post(`${P}/webhooks/endpoints`, { url });
        expectError(post, 400, 'VALIDATION_FAILED');
        expect(post.body.error.details).toEqual([{ field: 'url', reason: expect.any(String) }]);
        expectError(
          await op.client.patch(`${P}/webhooks/endpoints/${created.body.data.id}`, { url }),
          400,
          'VALIDATION_FAILED',
        );
      }
      const list = await op.client.get(`${P}/webhooks/endpoints`);
      expect(list.body.data.map((e: { url: string }) => e.url)).toEqual(['https://hooks.example.com/y']);
    });
  });
});
