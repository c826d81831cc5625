import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Resolver } from '../../core/security/webhook-destination';
import { HttpUnreachableError } from '../http';

export interface PinnedPostOptions {
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  resolve: Resolver;
  /** Throws DestinationRefusedError when an address may not be called (the SSRF rule). */
  checkAddresses: (url: string, addresses: string[]) => void;
  /** Extra trusted CA: tests' self-signed receivers only. */
  ca?: string;
}

/**
 * POSTs to a webhook URL pinned to the address that was checked: the host is resolved once,
 * every address it answered is checked, and the connection goes to the first of them with the
 * URL's own Host header and TLS server name (so the certificate is verified for the name).
 * Resolving again at connect time, as a plain fetch does, would let a name that re-resolves
 * between check and connect (DNS rebinding) reach a private address.
 */
/** How much of a receiver's answer is kept (for the delivery log). */
const EXCERPT_BYTES = 1024;

export async function postPinned(
  url: string,
  o: PinnedPostOptions,
): Promise<{ status: number; excerpt: string }> {
  const answer = await requestPinned('POST', url, { ...o, maxBytes: EXCERPT_BYTES });
  return { status: answer.status, excerpt: answer.body.toString('utf8') };
}

/**
 * Any method to a URL pinned to the checked address (the rule above, for POST and GET alike):
 * the KYC provider clients call an operator's provider base URL through this. The answer's
 * body is kept up to `maxBytes`; the rest is read and dropped.
 */
export async function requestPinned(
  method: 'GET' | 'POST',
  url: string,
  o: Omit<PinnedPostOptions, 'body'> & { body?: string; maxBytes: number },
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = literal ? [{ address: host, family: literal }] : await o.resolve(host);
  } catch (err) {
    throw new HttpUnreachableError(
      `${method} ${u.origin} failed: ${(err as { code?: string }).code ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
  const pinned = addresses[0];
  if (!pinned) throw new HttpUnreachableError(`${method} ${u.origin} failed: ${host} has no address`);
  o.checkAddresses(
    url,
    addresses.map((a) => a.address),
  );
  const lookupPinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      method,
      headers: {
        ...(o.body === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)) }),
        ...o.headers,
      },
      lookup: lookupPinned,
      // A fresh connection per request: a pooled socket could be one opened to another address.
      agent: false,
      signal: AbortSignal.timeout(o.timeoutMs),
      ...(u.protocol === 'https:' ? { servername: literal ? undefined : host, ca: o.ca } : {}),
    };
    const req = (u.protocol === 'https:' ? https : http).request(u, options, (res) => {
      const kept: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < o.maxBytes) kept.push(chunk.subarray(0, o.maxBytes - size));
        size += chunk.length;
      });
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(kept) });
      });
      res.on('error', (err) => reject(unreachable(method, u, err, o.timeoutMs)));
    });
    req.on('error', (err) => reject(unreachable(method, u, err, o.timeoutMs)));
    req.end(o.body);
  });
}

function unreachable(
  method: string,
  u: URL,
  err: Error & { code?: string },
  timeoutMs: number,
): HttpUnreachableError {
  const reason = err.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : (err.code ?? err.message);
  return new HttpUnreachableError(`${method} ${u.origin} failed: ${reason}`, { cause: err });
}
