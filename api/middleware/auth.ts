import type { Context } from 'koa';
import { findKeyOwner } from '../../core/db/api-keys';
import type { Queryable } from '../../core/db/pool';
import { apiError } from '../../core/errors';
import { hashApiKey, parseBearer, sameHash } from '../../core/security/api-keys';
import { findTemplate, type Template } from '../../core/template/igaming';

export interface AuthContext {
  operatorId: string;
  mode: 'live' | 'test';
  template: Template | undefined;
  /** Per-operator override of the default rate limit; null = default. */
  rateLimitPerMinute: number | null;
}

const unauthorized = () => apiError({ code: 'UNAUTHORIZED', message: 'Missing or invalid API key' });

/**
 * Resolves the Bearer key to its operator. Results (hits and misses) are cached for a few
 * seconds so the hot path does not pay a database round trip per request; revoking a key,
 * suspending an operator or changing settings takes effect within `ttlMs` everywhere, and
 * at once in the process that made the change (see `forget`).
 */
export class Authenticator {
  private readonly cache = new Map<string, { ctx: AuthContext | undefined; hash: Buffer; expires: number }>();

  constructor(
    private readonly db: Queryable,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 10000,
  ) {}

  async authenticate(ctx: Context): Promise<AuthContext> {
    const bearer = parseBearer(ctx.get('authorization'));
    if (!bearer) throw unauthorized();
    const hash = hashApiKey(bearer.key);
    const cacheKey = hash.toString('hex');
    const now = Date.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expires > now) {
      if (!hit.ctx || !sameHash(hit.hash, hash)) throw unauthorized();
      return hit.ctx;
    }
    const owner = await findKeyOwner(this.db, hash);
    const auth =
      owner && sameHash(owner.key_hash, hash) && owner.operator_mode === bearer.mode
        ? {
            operatorId: owner.operator_id,
            mode: owner.operator_mode,
            template: findTemplate(owner.template_id),
            rateLimitPerMinute: owner.rate_limit_per_minute,
          }
        : undefined;
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(cacheKey, { ctx: auth, hash, expires: now + this.ttlMs });
    if (!auth) throw unauthorized();
    return auth;
  }

  /** Drops cached entries of one operator (after its settings change in this process). */
  forget(operatorId: string): void {
    for (const [k, v] of this.cache) if (v.ctx?.operatorId === operatorId) this.cache.delete(k);
  }
}

/** Data calls need a template; until one is set they answer TEMPLATE_NOT_CONFIGURED. */
export function requireTemplate(auth: AuthContext): Template {
  if (!auth.template) {
    throw apiError({
      code: 'TEMPLATE_NOT_CONFIGURED',
      message: 'No template set for this operator; call PUT /settings with a templateId first',
    });
  }
  return auth.template;
}
