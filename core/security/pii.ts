import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM encryption of an entity's PII under a per-operator key derived (HKDF-SHA256)
 * from the master secret. Layout: version(1) | iv(12) | tag(16) | ciphertext.
 * The operator id and external id are bound as associated data, so a ciphertext cannot be
 * moved to another entity.
 */
const VERSION = 1;

export class PiiCipher {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly masterKey: string) {}

  /**
   * PII and secrets get different keys (the HKDF salt differs), so a sealed secret can never be
   * opened as an entity's PII or the other way round, whatever the associated data.
   */
  private keyFor(
    operatorId: string,
    salt: 'igaming-pii-v1' | 'igaming-secrets-v1' = 'igaming-pii-v1',
  ): Buffer {
    const cacheKey = `${salt}\u0000${operatorId}`;
    let key = this.keys.get(cacheKey);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.masterKey, salt, `operator:${operatorId}`, 32));
      this.keys.set(cacheKey, key);
    }
    return key;
  }

  /**
   * Seals an operator's secret (a KYC provider's credentials, a webhook secret) as PII is
   * sealed: AES-256-GCM under a per-operator key, the operator and `purpose` (e.g.
   * `provider_connection:pcn_…:credentials`) bound as associated data, so a sealed value
   * cannot be moved to another operator, connection or field.
   */
  sealSecret(operatorId: string, purpose: string, value: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyFor(operatorId, 'igaming-secrets-v1'), iv);
    cipher.setAAD(Buffer.from(`${operatorId}\u0000${purpose}`));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  openSecret(operatorId: string, purpose: string, blob: Buffer): string {
    if (blob[0] !== VERSION) throw new Error(`Unknown secret ciphertext version ${blob[0]}`);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.keyFor(operatorId, 'igaming-secrets-v1'),
      blob.subarray(1, 13),
    );
    decipher.setAAD(Buffer.from(`${operatorId}\u0000${purpose}`));
    decipher.setAuthTag(blob.subarray(13, 29));
    return Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]).toString('utf8');
  }

  encrypt(operatorId: string, externalId: string, pii: Record<string, unknown>): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyFor(operatorId), iv);
    cipher.setAAD(Buffer.from(`${operatorId}\u0000${externalId}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(pii), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  decrypt(operatorId: string, externalId: string, blob: Buffer): Record<string, unknown> {
    if (blob[0] !== VERSION) throw new Error(`Unknown PII ciphertext version ${blob[0]}`);
    const iv = blob.subarray(1, 13);
    const tag = blob.subarray(13, 29);
    const decipher = createDecipheriv('aes-256-gcm', this.keyFor(operatorId), iv);
    decipher.setAAD(Buffer.from(`${operatorId}\u0000${externalId}`));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
  }
}
