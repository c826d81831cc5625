import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KycCheck } from './client';
import { SandboxWebhookSender, type DeliveryMode } from './sandbox-webhooks';

/**
 * A stand-in for the KYC provider, speaking the protocol of ./client.ts: `POST /v1/checks`
 * with `Authorization: Bearer …` and a required `Idempotency-Key`. It lives next to the client
 * so the two sides of the contract change together; it runs as its own process
 * (scripts/kyc-sandbox.ts) in the local stack and docker-compose, and in-process in tests.
 *
 * Outcomes are chosen by the applicant's externalId prefix, so a test picks one by naming
 * its player:
 *
 * - `reject…` / `review…`: the check comes back `rejected` / `review`; anything else `approved`
 * - `flaky…`: 503 for the first two calls with a given Idempotency-Key, then the check
 * - `ratelimited…`: 429 with `Retry-After: 1` on the first call with a key, then the check
 * - `slow…`: the first call with a key creates the check but answers only after `slowMs`
 *   (past the client's timeout); later calls answer at once with that same check
 * - `invalid…`: 422 every time (a request the provider refuses)
 *
 * - `reverse…`: approved, then later rejected (the asynchronous API only: a reversal by webhook)
 *
 * Two APIs. `POST /v1/checks` answers the result in the same call (the synchronous flow the
 * kyc-on-deposit definition uses today). `POST /v2/checks` behaves like a real provider: it
 * answers `pending` (202) and delivers the result later by a signed webhook (`X-Sandbox-Digest`,
 * core/security/provider-signatures.ts) to the `callback.url` the request names, with the
 * `callback.secret` the caller holds for this connection (the sandbox has no dashboard to
 * configure them in); see ./sandbox-webhooks.ts for the delay, the retries and the ways it can
 * be told to misbehave (`PUT /v2/sandbox/delivery`, `GET /v2/deliveries` to watch).
 *
 * Calls with an Idempotency-Key already seen return the check created for it (200, header
 * `Idempotent-Replayed: true`): no second side effect. `calls` records every request and
 * `checks` every check created, so tests can count provider-side effects; `GET /v1/checks` and
 * `GET /v1/calls` list them for callers in another process.
 */

export type SandboxBehaviour =
  | 'approve'
  | 'reject'
  | 'review'
  | 'flaky'
  | 'ratelimited'
  | 'slow'
  | 'invalid'
  | 'reverse';

export interface SandboxCall {
  at: Date;
  idempotencyKey: string | undefined;
  applicantId: string | undefined;
  behaviour: SandboxBehaviour | undefined;
  /** The HTTP status answered (set when the answer is decided). */
  status: number;
}

export interface SandboxCheck extends KycCheck {
  applicantId: string;
  idempotencyKey: string;
  reference: string | undefined;
}

export interface KycSandbox {
  url: string;
  calls: SandboxCall[];
  checks: SandboxCheck[];
  /** The asynchronous API's webhook deliveries: every attempt, and the mode (changeable). */
  webhooks: SandboxWebhookSender;
  close(): Promise<void>;
}

export interface KycSandboxOptions {
  port?: number;
  host?: string;
  /** How long a `slow…` applicant's first call waits before answering. */
  slowMs?: number;
  /** When set, any other Bearer token is answered 401. */
  apiKey?: string;
  log?: (line: Record<string, unknown>) => void;
  /** How the asynchronous API delivers results (defaults: after 3 s, once, in order). */
  delivery?: Partial<DeliveryMode>;
  /** Sumsub's retry schedule times this (1/600 unless set: 5 min becomes 0.5 s). */
  retryScale?: number;
}

const PREFIXES: SandboxBehaviour[] = [
  'reject',
  'review',
  'flaky',
  'ratelimited',
  'slow',
  'invalid',
  'reverse',
];

export function behaviourOf(applicantId: string): SandboxBehaviour {
  return PREFIXES.find((p) => applicantId.startsWith(p)) ?? 'approve';
}

const STATUS: Record<SandboxBehaviour, KycCheck['status']> = {
  approve: 'approved',
  reject: 'rejected',
  review: 'review',
  flaky: 'approved',
  ratelimited: 'approved',
  slow: 'approved',
  invalid: 'approved',
  reverse: 'approved',
};

/** The results the asynchronous API delivers, in the provider's order of time. */
const RESULTS: Record<SandboxBehaviour, Array<KycCheck['status']>> = {
  ...Object.fromEntries(Object.entries(STATUS).map(([b, s]) => [b, [s]])),
  reverse: ['approved', 'rejected'],
} as Record<SandboxBehaviour, Array<KycCheck['status']>>;

export async function startKycSandbox(o: KycSandboxOptions = {}): Promise<KycSandbox> {
  const calls: SandboxCall[] = [];
  const checks: SandboxCheck[] = [];
  const byKey = new Map<string, SandboxCheck>();
  const attempts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const slowMs = o.slowMs ?? 30_000;
  const webhooks = new SandboxWebhookSender(
    { delayMs: 3000, twice: false, outOfOrder: false, reverseAfterMs: 3000, ...o.delivery },
    o.retryScale ?? 1 / 600,
    o.log,
  );
  const asyncByKey = new Map<string, SandboxCheck>();

  const send = (
    res: http.ServerResponse,
    call: SandboxCall | undefined,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (call) call.status = status;
    o.log?.({
      msg: 'kyc sandbox answered',
      status,
      applicantId: call?.applicantId,
      idempotencyKey: call?.idempotencyKey,
    });
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
  };

  const createCheck = (req: http.IncomingMessage, res: http.ServerResponse, raw: string) => {
    const key = header(req, 'idempotency-key');
    const body = parseJson(raw) as { applicantId?: unknown; reference?: unknown } | undefined;
    const applicantId = typeof body?.applicantId === 'string' ? body.applicantId : undefined;
    const behaviour = applicantId === undefined ? undefined : behaviourOf(applicantId);
    const call: SandboxCall = { at: new Date(), idempotencyKey: key, applicantId, behaviour, status: 0 };
    calls.push(call);

    const auth = header(req, 'authorization');
    if (!auth?.startsWith('Bearer ') || (o.apiKey !== undefined && auth !== `Bearer ${o.apiKey}`)) {
      return send(res, call, 401, { error: 'unauthorized' });
    }
    if (!key) return send(res, call, 400, { error: 'Idempotency-Key header is required' });
    if (!applicantId || !behaviour) return send(res, call, 400, { error: 'applicantId is required' });
    if (behaviour === 'invalid') return send(res, call, 422, { error: 'applicant cannot be checked' });

    const existing = byKey.get(key);
    if (existing) return send(res, call, 200, publicCheck(existing), { 'Idempotent-Replayed': 'true' });

    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (behaviour === 'flaky' && n <= 2) return send(res, call, 503, { error: 'temporarily unavailable' });
    if (behaviour === 'ratelimited' && n === 1)
      return send(res, call, 429, { error: 'rate limited' }, { 'Retry-After': '1' });

    const check: SandboxCheck = {
      id: 'chk_' + randomBytes(8).toString('hex'),
      status: STATUS[behaviour],
      createdAt: new Date().toISOString(),
      applicantId,
      idempotencyKey: key,
      reference: typeof body?.reference === 'string' ? body.reference : undefined,
    };
    byKey.set(key, check);
    checks.push(check);
    if (behaviour === 'slow' && n === 1) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) send(res, call, 201, publicCheck(check));
      }, slowMs);
      timers.add(timer);
      return;
    }
    send(res, call, 201, publicCheck(check));
  };

  /** `POST /v2/checks`: answers `pending` and schedules the result's webhook(s). */
  const createPendingCheck = (req: http.IncomingMessage, res: http.ServerResponse, raw: string) => {
    const key = header(req, 'idempotency-key');
    const body = parseJson(raw) as
      | { applicantId?: unknown; reference?: unknown; callback?: { url?: unknown; secret?: unknown } }
      | undefined;
    const applicantId = typeof body?.applicantId === 'string' ? body.applicantId : undefined;
    const behaviour = applicantId === undefined ? undefined : behaviourOf(applicantId);
    const call: SandboxCall = { at: new Date(), idempotencyKey: key, applicantId, behaviour, status: 0 };
    calls.push(call);
    const auth = header(req, 'authorization');
    if (!auth?.startsWith('Bearer ') || (o.apiKey !== undefined && auth !== `Bearer ${o.apiKey}`)) {
      return send(res, call, 401, { error: 'unauthorized' });
    }
    const url = body?.callback?.url;
    const secret = body?.callback?.secret;
    if (!key) return send(res, call, 400, { error: 'Idempotency-Key header is required' });
    if (!applicantId || !behaviour) return send(res, call, 400, { error: 'applicantId is required' });
    if (typeof url !== 'string' || !URL.canParse(url) || typeof secret !== 'string' || !secret)
      return send(res, call, 400, { error: 'callback.url and callback.secret are required' });
    if (behaviour === 'invalid') return send(res, call, 422, { error: 'applicant cannot be checked' });
    const existing = asyncByKey.get(key);
    if (existing) return send(res, call, 200, pendingView(existing), { 'Idempotent-Replayed': 'true' });
    const check: SandboxCheck = {
      id: 'chk_' + randomBytes(8).toString('hex'),
      status: STATUS[behaviour],
      createdAt: new Date().toISOString(),
      applicantId,
      idempotencyKey: key,
      reference: typeof body?.reference === 'string' ? body.reference : undefined,
    };
    asyncByKey.set(key, check);
    checks.push(check);
    webhooks.schedule(
      { id: check.id, applicantId, createdAt: new Date(check.createdAt) },
      RESULTS[behaviour],
      { url, secret },
    );
    send(res, call, 202, pendingView(check));
  };

  const setDeliveryMode = (res: http.ServerResponse, raw: string) => {
    const b = parseJson(raw) as Partial<Record<keyof DeliveryMode, unknown>> | undefined;
    const next = { ...webhooks.mode };
    for (const k of ['twice', 'outOfOrder', 'hold'] as const) if (typeof b?.[k] === 'boolean') next[k] = b[k];
    for (const k of ['delayMs', 'reverseAfterMs', 'gapMs'] as const)
      if (typeof b?.[k] === 'number' && b[k] >= 0) next[k] = b[k];
    webhooks.mode = next;
    send(res, undefined, 200, next);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/healthz') return send(res, undefined, 200, { status: 'ok' });
      // Read-only views for the fault suite, which runs the sandbox as a separate process and
      // counts provider-side effects (checks per Idempotency-Key) from outside.
      if (req.method === 'GET' && path === '/v1/checks') return send(res, undefined, 200, { checks });
      if (req.method === 'GET' && path === '/v1/calls') return send(res, undefined, 200, { calls });
      if (req.method === 'POST' && path === '/v1/checks')
        return createCheck(req, res, Buffer.concat(chunks).toString('utf8'));
      if (req.method === 'POST' && path === '/v2/checks')
        return createPendingCheck(req, res, Buffer.concat(chunks).toString('utf8'));
      if (req.method === 'PUT' && path === '/v2/sandbox/delivery')
        return setDeliveryMode(res, Buffer.concat(chunks).toString('utf8'));
      if (req.method === 'GET' && path === '/v2/deliveries')
        return send(res, undefined, 200, {
          mode: webhooks.mode,
          pending: webhooks.pending(),
          attempts: webhooks.attempts,
        });
      const found =
        req.method === 'GET' && path?.startsWith('/v1/checks/')
          ? checks.find((c) => path === `/v1/checks/${c.id}`)
          : undefined;
      if (found) return send(res, undefined, 200, publicCheck(found));
      send(res, undefined, 404, { error: 'not found' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host === undefined || o.host === '0.0.0.0' ? '127.0.0.1' : o.host;

  return {
    url: `http://${host}:${port}`,
    calls,
    checks,
    webhooks,
    close: async () => {
      webhooks.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function pendingView(c: SandboxCheck) {
  return { id: c.id, status: 'pending' as const, createdAt: c.createdAt };
}

function publicCheck(c: SandboxCheck): KycCheck {
  return { id: c.id, status: c.status, createdAt: c.createdAt };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
