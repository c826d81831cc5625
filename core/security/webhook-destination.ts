import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where operator-configured webhooks and KYC provider base URLs may point. Operators choose
 * the URL and our worker calls it, so without a check an operator could make us call our own
 * network: the database, Temporal, a cloud metadata endpoint (server-side request forgery).
 * Unless private networks are allowed (the local stack and the tests, whose receivers are on
 * loopback), a URL must be https and its host must resolve only to public addresses.
 *
 * Addresses are classified by ipaddr.js (its table of special-purpose ranges, kept up to date
 * with IANA's registries) rather than by a list of our own: only what it calls plain `unicast`
 * is public. Two IPv6 forms embed an IPv4 address that a packet actually reaches: IPv4-mapped
 * (::ffff:a.b.c.d) and 6to4 (2002:AABB:CCDD::/48 relays to a.b.c.d); those are as public as
 * the IPv4 address they embed. Every other special range (NAT64, Teredo, documentation,
 * benchmarking, ...) is refused.
 */
export function isPublicAddress(address: string): boolean {
  if (isIP(address) === 0) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() === 'unicast';
  const v6 = parsed as ipaddr.IPv6;
  switch (v6.range()) {
    case 'unicast':
      return true;
    case 'ipv4Mapped':
      return isPublicAddress(v6.toIPv4Address().toString());
    case '6to4': {
      const [, hi = 0, lo = 0] = v6.parts;
      return isPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    default:
      return false;
  }
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
