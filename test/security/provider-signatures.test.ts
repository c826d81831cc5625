import { readFileSync } from 'node:fs';
import {
  providerSignatureHeaders,
  sameHexDigest,
  verifyProviderSignature,
} from '../../core/security/provider-signatures';

/**
 * Known answers. Neither provider's public pages we could reach give a body, a secret and its
 * digest together, so these were computed independently of our code with
 * `printf '%s' "$BODY" | openssl dgst -<alg> -hmac <secret>` over exactly these bytes.
 */
const SUMSUB_BODY =
  '{"applicantId":"5cb56e8e0a975a35f333cb83","inspectionId":"5cb56e8e0a975a35f333cb84","correlationId":"req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4","externalUserId":"externalUserId","levelName":"basic-kyc-level","type":"applicantReviewed","reviewResult":{"reviewAnswer":"GREEN"},"reviewStatus":"completed","createdAtMs":"2020-02-21 13:23:19.321"}';
const SUMSUB_SECRET = 'SoMe_SeCrEt_KeY';
const SUMSUB_DIGESTS = {
  HMAC_SHA1_HEX: 'a9c0f20d3850f06e65f915510c428cabb5efef43',
  HMAC_SHA256_HEX: 'dc1029b977cff1f1df76fe6e8736cc4c9f612cb8098969eeb99cc05ea8f043c6',
  HMAC_SHA512_HEX:
    '3b4848d1ebd7e113670d6b0e06fd4ac072e208f1a932c314588cec352d8646e5ad7b9cec8d77c423b0e7cfa206d892532040a38091667d012b8264bd1b8ab266',
} as const;

const ONFIDO_BODY =
  '{"payload":{"resource_type":"check","action":"check.completed","object":{"id":"5d6e2a1e-9d3c-4d43-a1c4-2d5e8e2c3f10","status":"complete","completed_at_iso8601":"2026-11-30T10:15:00Z","href":"https://api.eu.onfido.com/v3.6/checks/5d6e2a1e-9d3c-4d43-a1c4-2d5e8e2c3f10"}}}';
const ONFIDO_TOKEN = 'onfido-webhook-token-1';
const ONFIDO_DIGEST = '226c36513d2cb1f3fa9a45c7e533b49c010d0ca096c70d220c8e0f468752818c';

describe('Sumsub X-Payload-Digest', () => {
  it.each(Object.entries(SUMSUB_DIGESTS))('verifies the known %s digest of the raw body', (alg, digest) => {
    const headers = { 'x-payload-digest': digest, 'x-payload-digest-alg': alg };
    expect(verifyProviderSignature('sumsub', headers, Buffer.from(SUMSUB_BODY), [SUMSUB_SECRET])).toBe(true);
    expect(providerSignatureHeaders('sumsub', SUMSUB_SECRET, SUMSUB_BODY, alg as never)).toEqual(headers);
  });

  it('takes SHA-256 when X-Payload-Digest-Alg is absent, and accepts an upper-case hex digest', () => {
    const body = Buffer.from(SUMSUB_BODY);
    expect(
      verifyProviderSignature('sumsub', { 'x-payload-digest': SUMSUB_DIGESTS.HMAC_SHA256_HEX }, body, [
        SUMSUB_SECRET,
      ]),
    ).toBe(true);
    expect(
      verifyProviderSignature(
        'sumsub',
        { 'x-payload-digest': SUMSUB_DIGESTS.HMAC_SHA256_HEX.toUpperCase() },
        body,
        [SUMSUB_SECRET],
      ),
    ).toBe(true);
  });

  it('refuses a changed byte, another secret, a wrong or unknown algorithm, and a missing digest', () => {
    const body = Buffer.from(SUMSUB_BODY);
    const good = { 'x-payload-digest': SUMSUB_DIGESTS.HMAC_SHA256_HEX };
    // The same JSON re-serialised with a space differs in bytes: signatures cover bytes, not values.
    expect(
      verifyProviderSignature('sumsub', good, Buffer.from(SUMSUB_BODY.replace('":"GREEN"', '": "GREEN"')), [
        SUMSUB_SECRET,
      ]),
    ).toBe(false);
    expect(verifyProviderSignature('sumsub', good, body, ['another-secret'])).toBe(false);
    expect(
      verifyProviderSignature('sumsub', { ...good, 'x-payload-digest-alg': 'HMAC_SHA512_HEX' }, body, [
        SUMSUB_SECRET,
      ]),
    ).toBe(false);
    expect(
      verifyProviderSignature('sumsub', { ...good, 'x-payload-digest-alg': 'MD5' }, body, [SUMSUB_SECRET]),
    ).toBe(false);
    expect(verifyProviderSignature('sumsub', {}, body, [SUMSUB_SECRET])).toBe(false);
    expect(verifyProviderSignature('sumsub', { 'x-payload-digest': 'zz' }, body, [SUMSUB_SECRET])).toBe(
      false,
    );
  });

  it('accepts the previous secret too while a rotation is in its grace', () => {
    const headers = { 'x-payload-digest': SUMSUB_DIGESTS.HMAC_SHA256_HEX };
    expect(
      verifyProviderSignature('sumsub', headers, Buffer.from(SUMSUB_BODY), ['new-secret', SUMSUB_SECRET]),
    ).toBe(true);
  });
});

describe('Onfido X-SHA2-Signature', () => {
  it('verifies the known HMAC-SHA256 of the raw body keyed with the webhook token', () => {
    const headers = { 'x-sha2-signature': ONFIDO_DIGEST };
    expect(verifyProviderSignature('onfido', headers, Buffer.from(ONFIDO_BODY), [ONFIDO_TOKEN])).toBe(true);
    expect(providerSignatureHeaders('onfido', ONFIDO_TOKEN, ONFIDO_BODY)).toEqual(headers);
    expect(verifyProviderSignature('onfido', headers, Buffer.from(ONFIDO_BODY), ['other-token'])).toBe(false);
    // Sumsub's header on an Onfido connection is not Onfido's signature.
    expect(
      verifyProviderSignature('onfido', { 'x-payload-digest': ONFIDO_DIGEST }, Buffer.from(ONFIDO_BODY), [
        ONFIDO_TOKEN,
      ]),
    ).toBe(false);
  });
});

describe('sameHexDigest', () => {
  it('compares equal digests only, and refuses non-hex or shorter input without throwing', () => {
    const d = SUMSUB_DIGESTS.HMAC_SHA256_HEX;
    expect(sameHexDigest(d, d)).toBe(true);
    expect(sameHexDigest(d, d.slice(0, -2))).toBe(false);
    expect(sameHexDigest(d, d.slice(0, -1) + 'x')).toBe(false);
    expect(sameHexDigest(d, '')).toBe(false);
  });

  it('is used by verification in place of string equality (no early exit on the first differing byte)', () => {
    const source = readFileSync(require.resolve('../../core/security/provider-signatures'), 'utf8');
    expect(source).toContain('timingSafeEqual(');
    expect(source).not.toMatch(/digest\s*===|===\s*digest/);
  });
});
