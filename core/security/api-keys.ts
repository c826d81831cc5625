import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyMode = 'live' | 'test';

const KEY_PATTERN = /^oh_(live|test)_[0-9a-f]{64}$/;

/** A new key: shown once; only its SHA-256 is stored. */
export function generateApiKey(mode: KeyMode): { plaintext: string; hash: Buffer; displayPrefix: string } {
  const plaintext = `oh_${mode}_${randomBytes(32).toString('hex')}`;
  return { plaintext, hash: hashApiKey(plaintext), displayPrefix: plaintext.slice(0, 16) };
}

export function hashApiKey(plaintext: string): Buffer {
  return createHash('sha256').update(plaintext, 'utf8').digest();
}

/** Well-formed keys only reach the database; anything else is 401 without a query. */
export function parseBearer(header: string | undefined): { key: string; mode: KeyMode } | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const key = match?.[1];
  if (!key || !KEY_PATTERN.test(key)) return undefined;
  return { key, mode: key.startsWith('oh_live_') ? 'live' : 'test' };
}

/** Constant-time comparison of two SHA-256 digests. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
