import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where operator-configured webhooks may point. Operators choose the URL and our worker
 * POSTs to it, so without a check an operator could make us call our own network: the
 * database, Temporal, a cloud metadata endpoint (server-side request forgery). Unless private
 * networks are allowed (the local stack and the tests, whose receivers are on loopback),
 * a webhook URL must be https and its host must resolve only to public addresses.
 */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 of any IPv4, private ones included
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6');
}

/** Whether an IP address is on the public internet (not loopback, private, link-local, …). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    // An IPv4-mapped address reaches the IPv4 host it embeds, written either way
    // (::ffff:10.0.0.1, or ::ffff:a00:1 as URLs normalise it).
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return isPublicAddress(mapped[1]!);
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    if (hex) {
      const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
      return isPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return !NOT_PUBLIC.check(address, 'ipv6');
  }
  return !NOT_PUBLIC.check(address, 'ipv4');
}

/** Why a webhook URL is refused when it is configured, or undefined when it is acceptable. */
export function webhookUrlProblem(url: string, allowPrivateNetworks: boolean): string | undefined {
  if (!URL.canParse(url)) return 'is not a URL';
  if (allowPrivateNetworks) return undefined;
  const u = new URL(url);
  if (u.protocol !== 'https:') return 'must use https';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point at this host';
  if (isIP(host) !== 0 && !isPublicAddress(host))
    return 'must not point at a private, loopback or link-local address';
  return undefined;
}

/** A host's addresses, as node:dns `lookup(host, { all: true })` answers them. */
export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Throws DestinationRefusedError unless every address the URL's host resolved to may be
 * called. The delivery then connects to one of exactly these addresses (pinned-post.ts), so
 * what was checked is what is reached.
 */
export function assertAddressesAllowed(
  url: string,
  addresses: readonly string[],
  allowPrivateNetworks: boolean,
  isPublic: (address: string) => boolean = isPublicAddress,
): void {
  if (allowPrivateNetworks) return;
  const problem = webhookUrlProblem(url, false);
  if (problem) throw new DestinationRefusedError(problem);
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (addresses.some((a) => !isPublic(a))) {
    throw new DestinationRefusedError(`${host} resolves to a non-public address`);
  }
}

/**
 * Checked again at each delivery, on what the host resolves to now (a name can be pointed
 * at a private address after it was configured). Throws with the reason when refused.
 */
export async function assertPublicDestination(
  url: string,
  allowPrivateNetworks: boolean,
  resolve: (host: string) => Promise<Array<{ address: string }>> = systemResolver,
): Promise<void> {
  if (allowPrivateNetworks) return;
  const problem = webhookUrlProblem(url, false);
  if (problem) throw new DestinationRefusedError(problem);
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return;
  const addresses = await resolve(host);
  assertAddressesAllowed(
    url,
    addresses.map((a) => a.address),
    false,
  );
}

export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError';
}
