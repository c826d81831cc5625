import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KycCheck } from './client';

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
 * Calls with an Idempotency-Key already seen return the check created for it (200, header
 * `Idempotent-Replayed: true`): no second side effect. `calls` records every request and
 * `checks` every check created, so tests can count provider-side effects; `GET /v1/checks` and
 * `GET /v1/calls` list them for callers in another process.
 */

export type SandboxBehaviour = 'approve' | 'reject' | 'review' | 'flaky' | 'ratelimited' | 'slow' | 'invalid';

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
}

const PREFIXES: SandboxBehaviour[] = ['reject', 'review', 'flaky', 'ratelimited', 'slow', 'invalid'];

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
};

export async function startKycSandbox(o: KycSandboxOptions = {}): Promise<KycSandbox> {
  const calls: SandboxCall[] = [];
  const checks: SandboxCheck[] = [];
  const byKey = new Map<string, SandboxCheck>();
  const attempts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const slowMs = o.slowMs ?? 30_000;

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
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
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
