import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { postPinned } from '../../activities/webhooks/pinned-post';
import {
  assertAddressesAllowed,
  DestinationRefusedError,
  type Resolver,
} from '../../core/security/webhook-destination';

/**
 * DNS rebinding: a name that resolves to a public address when the delivery checks it and to
 * a private one when it connects. Two HTTPS receivers share a port: "public" on 127.0.0.2,
 * "private" on 127.0.0.1; the check treats only 127.0.0.2 as public (the production rule,
 * with loopback standing in for the internet), so reaching 127.0.0.1 is the attack working.
 */
const NAME = 'rebind.test';

interface Hit {
  host: string | undefined;
  servername: string | false | undefined;
}

function tlsCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinned-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${NAME}`]
        .concat(['-addext', `subjectAltName=DNS:${NAME}`])
        .concat(['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]),
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function receiver(tls: { key: string; cert: string }, address: string, port: number) {
  const hits: Hit[] = [];
  const server = https.createServer(tls, (req, res) => {
    hits.push({
      host: req.headers.host,
      servername: (req.socket as { servername?: string | false }).servername,
    });
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, resolve);
  });
  return {
    hits,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('webhook deliveries are pinned to the address that was checked', () => {
  let tls: { key: string; cert: string };
  let good: Awaited<ReturnType<typeof receiver>>;
  let evil: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    tls = tlsCertificate();
    good = await receiver(tls, '127.0.0.2', 0);
    evil = await receiver(tls, '127.0.0.1', good.port);
  });
  afterAll(async () => {
    await Promise.all([good?.close(), evil?.close()]);
  });
  beforeEach(() => {
    good.hits.length = 0;
    evil.hits.length = 0;
  });

  /** Answers each lookup with the next list, the last one from then on; counts the lookups. */
  const resolverAnswering = (...answers: string[][]) => {
    const calls: string[] = [];
    const resolve: Resolver = async (host) => {
      calls.push(host);
      const answer = answers[Math.min(calls.length, answers.length) - 1]!;
      return answer.map((address) => ({ address, family: 4 }));
    };
    return { resolve, calls };
  };
  const post = (resolve: Resolver) =>
    postPinned(`https://${NAME}:${good.port}/hooks`, {
      body: '{"type":"test"}',
      headers: { 'webhook-id': 'msg_1' },
      timeoutMs: 5_000,
      resolve,
      ca: tls.cert,
      checkAddresses: (url, addresses) =>
        assertAddressesAllowed(url, addresses, false, (a) => a === '127.0.0.2'),
    });

  it('resolves once and connects to the checked public address, with the name as Host and TLS server name, though a second lookup would answer a private one', async () => {
    const dns = resolverAnswering(['127.0.0.2'], ['127.0.0.1']);
    await expect(post(dns.resolve)).resolves.toEqual({ status: 200, excerpt: '' });
    expect(dns.calls).toEqual([NAME]);
    expect(good.hits).toEqual([{ host: `${NAME}:${good.port}`, servername: NAME }]);
    expect(evil.hits).toEqual([]);

    // Again: every delivery resolves afresh (and would be checked afresh), still once each.
    await expect(post(dns.resolve)).rejects.toBeInstanceOf(DestinationRefusedError);
    expect(dns.calls).toEqual([NAME, NAME]);
    expect(evil.hits).toEqual([]);
  });

  it('refuses, without connecting, a name that resolves to a private address or to a mix', async () => {
    for (const answer of [['127.0.0.1'], ['127.0.0.2', '127.0.0.1']]) {
      const dns = resolverAnswering(answer);
      await expect(post(dns.resolve)).rejects.toThrow(`${NAME} resolves to a non-public address`);
    }
    expect([good.hits, evil.hits]).toEqual([[], []]);
  });
});
