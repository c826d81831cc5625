import http from 'node:http';
import type { Outcome } from './load';
import { sleep } from './scenario';

/** One logical request as an operator's client makes it: every attempt until it had an answer. */
export interface Attempted {
  /** Index of the item it was sent for. */
  index: number;
  attempts: Outcome[];
  /** The answered attempt (an HTTP status other than 5xx), if any came within the retry window. */
  final?: Outcome;
}

export interface PacedOptions<T> {
  items: T[];
  concurrency: number;
  /** Requests per second at most (Infinity: as fast as the clients go). */
  rate: number;
  send: (item: T, agent: http.Agent) => Promise<Outcome>;
  /** How long a client keeps retrying one request that gets no answer (or a 5xx). */
  retryForMs: number;
}

/**
 * Sends one request per item from `concurrency` clients on a paced schedule. A request with no
 * answer (connection refused or cut: the API is down) or a 5xx is sent again after a short
 * pause, as an operator's client would once the API is back; the PUTs and first-time POSTs
 * this is used for are safe to repeat. Resolves when every item has its answer or gave up.
 */
export async function sendPaced<T>(o: PacedOptions<T>): Promise<{ results: Attempted[]; seconds: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const startedAt = Date.now();
  const results: Attempted[] = [];
  let next = 0;
  const client = async () => {
    while (next < o.items.length) {
      const index = next++;
      const due = Number.isFinite(o.rate) ? startedAt + (index * 1000) / o.rate - Date.now() : 0;
      if (due > 0) await sleep(due);
      const r: Attempted = { index, attempts: [] };
      const giveUpAt = Date.now() + o.retryForMs;
      for (;;) {
        const outcome = await o.send(o.items[index]!, agent);
        r.attempts.push(outcome);
        if (outcome.status !== 0 && outcome.status < 500) {
          r.final = outcome;
          break;
        }
        if (Date.now() > giveUpAt) break;
        await sleep(250);
      }
      results.push(r);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, client));
  agent.destroy();
  results.sort((a, b) => a.index - b.index);
  return { results, seconds: (Date.now() - startedAt) / 1000 };
}

/** When an attempt's answer arrived (ms since epoch). */
export const answeredAt = (o: Outcome): number => o.at + o.ms;
