import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signatures of inbound KYC provider webhooks, checked over the raw request bytes before
 * anything parses them. Shared by the API (verifies) and the sandbox provider and tests (sign).
 *
 * - Sumsub: `X-Payload-Digest` is the hex HMAC of the raw body under the webhook's secret key,
 *   the algorithm named in `X-Payload-Digest-Alg` (HMAC_SHA256_HEX by default, or
 *   HMAC_SHA1_HEX / HMAC_SHA512_HEX).
 * - Onfido: `X-SHA2-Signature` is the hex HMAC-SHA256 of the raw body keyed with the webhook's token.
 * - sandbox (ours): Sumsub's scheme under our own header names, `X-Sandbox-Digest` and
 *   `X-Sandbox-Digest-Alg`.
 */
export type KycProviderName = 'sumsub' | 'onfido' | 'sandbox';
export const KYC_PROVIDERS = ['sumsub', 'onfido', 'sandbox'] as const satisfies readonly KycProviderName[];

export const DIGEST_ALGORITHMS = {
  HMAC_SHA1_HEX: 'sha1',
  HMAC_SHA256_HEX: 'sha256',
  HMAC_SHA512_HEX: 'sha512',
} as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export const hexHmac = (algorithm: 'sha1' | 'sha256' | 'sha512', secret: string, body: Buffer | string) =>
  createHmac(algorithm, secret).update(body).digest('hex');

/** Compares two hex digests in time independent of where they differ; malformed input is false. */
export function sameHexDigest(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-f]+$/i.test(givenHex)) return false;
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(givenHex.toLowerCase(), 'hex');
  // Lengths differ only when the algorithm differs: that reveals nothing about the secret.
  return expected.length === given.length && timingSafeEqual(expected, given);
}

type Headers = Record<string, string | string[] | undefined>;
const one = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const HEADER_NAMES: Record<KycProviderName, { digest: string; alg?: string }> = {
  sumsub: { digest: 'x-payload-digest', alg: 'x-payload-digest-alg' },
  onfido: { digest: 'x-sha2-signature' },
  sandbox: { digest: 'x-sandbox-digest', alg: 'x-sandbox-digest-alg' },
};

/**
 * Whether the delivery's signature verifies under any of the secrets (the current one, and the
 * previous one during a rotation's grace). Header names are lower case, as Node gives them.
 */
export function verifyProviderSignature(
  provider: KycProviderName,
  headers: Headers,
  rawBody: Buffer,
  secrets: readonly string[],
): boolean {
  const names = HEADER_NAMES[provider];
  const digest = one(headers, names.digest)?.trim();
  if (!digest) return false;
  let algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha256';
  if (names.alg) {
    const named = one(headers, names.alg)?.trim() ?? 'HMAC_SHA256_HEX';
    if (!(named in DIGEST_ALGORITHMS)) return false;
    algorithm = DIGEST_ALGORITHMS[named as DigestAlgorithm];
  }
  // Every secret is tried (no early exit), so timing does not tell which one matched.
  let ok = false;
  for (const secret of secrets) ok = sameHexDigest(hexHmac(algorithm, secret, rawBody), digest) || ok;
  return ok;
}

/** The headers a provider would send with `body`: for the sandbox provider and tests. */
export function providerSignatureHeaders(
  provider: KycProviderName,
  secret: string,
  body: Buffer | string,
  algorithm: DigestAlgorithm = 'HMAC_SHA256_HEX',
): Record<string, string> {
  const names = HEADER_NAMES[provider];
  if (!names.alg) return { [names.digest]: hexHmac('sha256', secret, body) };
  return {
    [names.digest]: hexHmac(DIGEST_ALGORITHMS[algorithm], secret, body),
    [names.alg]: algorithm,
  };
}
