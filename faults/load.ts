import http from 'node:http';
import { API_PREFIX as P } from '../api/openapi';

/** One request as the client saw it. `status` 0 = no HTTP answer (refused, reset, timed out). */
export interface Outcome {
  /** When it was sent, ms since the load started. */
  at: number;
  ms: number;
  status: number;
  body?: unknown;
  error?: string;
  eventId?: string;
}

export interface PostOptions {
  /** A new TCP connection for this request only (scenario e counts refused connections). */
  agent?: http.Agent | false;
  timeoutMs?: number;
}

/** POST a JSON body; never throws: a failure is an outcome too. */
export function postJson(url: string, apiKey: string, body: unknown, o: PostOptions = {}): Promise<Outcome> {
  return sendJson('POST', url, apiKey, body, o);
}

/** Sends a JSON body with `method`; never throws: a failure is an outcome too. */
export function sendJson(
  method: 'POST' | 'PUT',
  url: string,
  apiKey: string,
  body: unknown,
  o: PostOptions = {},
): Promise<Outcome> {
  const started = Date.now();
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const done = (status: number, text?: string, error?: string) => {
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      const id = (parsed as { data?: { id?: unknown } } | undefined)?.data?.id;
      resolve({
        at: started,
        ms: Date.now() - started,
        status,
        body: parsed,
        error,
        eventId: status === 201 && typeof id === 'string' ? id : undefined,
      });
    };
    const req = http.request(
      url,
      {
        method,
        agent: o.agent,
        headers: {
          Authorization: `Bearer ${apiKey}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
        },
        timeout: o.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (err) => done(0, undefined, err.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => done(0, undefined, (err as NodeJS.ErrnoException).code ?? err.message));
    req.end(payload);
  });
}

export interface LoadOptions {
  apiUrl: string;
  apiKey: string;
  players: string[];
  concurrency: number;
  /** Requests per second at most; the dev server's Temporal (SQLite) bounds how fast fan-out drains. */
  rate: number;
  /** Builds one event body; `n` is the request's sequence number. */
  event: (n: number) => unknown;
}

export interface Load {
  outcomes: Outcome[];
  startedAt: number;
  /** Stops sending; resolves once every request in flight has its outcome. */
  stop(): Promise<{ outcomes: Outcome[]; seconds: number }>;
}

/**
 * Sustained load: `concurrency` loops share a paced schedule of `rate` requests per second;
 * each loop sends the next due request once its previous one is answered. A failed request is
 * recorded and followed by a short pause, so a dead API is not hammered in a tight loop.
 */
export function startLoad(o: LoadOptions): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const outcomes: Outcome[] = [];
  const startedAt = Date.now();
  let stopped = false;
  let n = 0;
  const loop = async () => {
    while (!stopped) {
      const i = n++;
      // Open-loop pacing: request i is due at i / rate seconds; a slow answer makes later ones catch up.
      const due = startedAt + (i * 1000) / o.rate - Date.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      if (stopped) break;
      const player = o.players[i % o.players.length]!;
      const outcome = await postJson(`${o.apiUrl}${P}/entities/${player}/events`, o.apiKey, o.event(i), {
        agent,
        timeoutMs: 30_000,
      });
      outcomes.push(outcome);
      if (outcome.status === 0 || outcome.status >= 500) await new Promise((r) => setTimeout(r, 50));
    }
  };
  const loops = Array.from({ length: o.concurrency }, () => loop());
  return {
    outcomes,
    startedAt,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return { outcomes, seconds: (Date.now() - startedAt) / 1000 };
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A session event: it fans out to a cheap workflow, so the load measures ingestion and fan-out. */
export const sessionEvent = (n: number) => ({
  eventType: 'session',
  data: { action: 'login', device: `faults-${n}`, country: 'GB' },
});

/** The steady load of the API, Temporal and Postgres scenarios: the same for all three, so their rows compare. */
export const STEADY_CONCURRENCY = 8;
const STEADY_RATE = { quick: 15, full: 30 };

/** Paced session events from `concurrency` loops over the run operator's players. */
export function startSteadyLoad(
  apiUrl: string,
  op: { apiKey: string; players: string[] },
  quick: boolean,
): Load {
  return startLoad({
    apiUrl,
    apiKey: op.apiKey,
    players: op.players,
    concurrency: STEADY_CONCURRENCY,
    rate: quick ? STEADY_RATE.quick : STEADY_RATE.full,
    event: sessionEvent,
  });
}
