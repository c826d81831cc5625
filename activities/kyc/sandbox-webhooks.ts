import { randomBytes } from 'node:crypto';
import type { SandboxWebhook } from '../../core/kyc-providers/webhook-payloads';
import { providerSignatureHeaders } from '../../core/security/provider-signatures';

/**
 * How the sandbox provider delivers results, as a real provider does: later, by signed
 * webhook, at least once. Sumsub resends a failed webhook after 5 min, 1 h, 5 h and 18 h; the
 * sandbox keeps that shape, compressed by `retryScale` (1/600 by default: 0.5 s, 6 s, 30 s,
 * 108 s), so a test or the local stack sees retries in seconds.
 *
 * Told to (options or `PUT /v2/sandbox/delivery`), it misbehaves as providers are allowed to:
 * - `twice`: every webhook is sent twice (the same event, the same bytes);
 * - `outOfOrder`: the webhooks due together go out newest result first (a reversal's RED
 *   before its GREEN; the later of two checks first).
 * - `hold` (then `gapMs`): keeps every webhook until released, then sends all of them as one
 *   batch, paced `gapMs` apart.
 */
export const SUMSUB_RETRY_SCHEDULE_MS = [5 * 60_000, 60 * 60_000, 5 * 60 * 60_000, 18 * 60 * 60_000];

export interface DeliveryMode {
  /** Time from the check's creation to its first result's webhook. */
  delayMs: number;
  twice: boolean;
  outOfOrder: boolean;
  /** A `reverse…` applicant's second (RED) result follows the first after this long. */
  reverseAfterMs: number;
  /**
   * Holds every webhook, however due, until set back to false: then all that fell due go out
   * together, in one batch (newest first with `outOfOrder`). The benchmark and the fault suite
   * use it to deliver results at a moment they choose (every check pending, the worker stopped).
   */
  hold?: boolean;
  /** A pause between two sends of one batch (ms): paces a released batch at a steady rate. */
  gapMs?: number;
}

export interface DeliveryAttempt {
  webhookId: string;
  checkId: string;
  url: string;
  result: SandboxWebhook['result'];
  attempt: number;
  /** 0 when no answer arrived (refused, reset, timeout). */
  status: number;
  at: Date;
}

interface Queued {
  due: number;
  attempt: number;
  webhook: SandboxWebhook;
  callback: { url: string; secret: string };
}

export class SandboxWebhookSender {
  readonly attempts: DeliveryAttempt[] = [];
  private queue: Queued[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing = false;

  constructor(
    public mode: DeliveryMode,
    private readonly retryScale: number,
    private readonly log?: (line: Record<string, unknown>) => void,
  ) {
    // One clock for every delivery: items that fall due in the same tick go out together,
    // which is what lets `outOfOrder` reorder them.
    this.timer = setInterval(() => void this.flush(), 100);
    this.timer.unref();
  }

  /** Schedules the results of a new check: one, or for a reversal GREEN then (later) RED. */
  schedule(
    check: { id: string; applicantId: string; createdAt: Date },
    results: Array<SandboxWebhook['result']>,
    callback: { url: string; secret: string },
  ): void {
    const now = Date.now();
    results.forEach((result, i) => {
      const offset = this.mode.delayMs + (this.mode.outOfOrder ? 0 : i * this.mode.reverseAfterMs);
      const webhook: SandboxWebhook = {
        id: 'evt_' + randomBytes(8).toString('hex'),
        type: 'check.completed',
        checkId: check.id,
        applicantId: check.applicantId,
        result,
        // The provider's own time of each result: the later one is the one that stands.
        createdAt: new Date(
          check.createdAt.getTime() + this.mode.delayMs + i * Math.max(1, this.mode.reverseAfterMs),
        ).toISOString(),
      };
      const copies = this.mode.twice ? 2 : 1;
      for (let c = 0; c < copies; c++) this.queue.push({ due: now + offset, attempt: 1, webhook, callback });
    });
  }

  pending(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.mode.hold) return;
    this.flushing = true;
    try {
      const now = Date.now();
      const due = this.queue.filter((q) => q.due <= now);
      if (due.length === 0) return;
      this.queue = this.queue.filter((q) => q.due > now);
      if (this.mode.outOfOrder) due.sort((a, b) => b.webhook.createdAt.localeCompare(a.webhook.createdAt));
      // One at a time, in the order chosen: concurrent sends would make the order a race.
      for (const [i, q] of due.entries()) {
        if (i > 0 && this.mode.gapMs) await new Promise((r) => setTimeout(r, this.mode.gapMs));
        await this.send(q);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async send(q: Queued): Promise<void> {
    const body = JSON.stringify(q.webhook);
    let status = 0;
    try {
      const res = await fetch(q.callback.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...providerSignatureHeaders('sandbox', q.callback.secret, body),
        },
        body,
        // Sumsub counts an answer slower than 5 s as failed.
        signal: AbortSignal.timeout(5000),
      });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    this.attempts.push({
      webhookId: q.webhook.id,
      checkId: q.webhook.checkId,
      url: q.callback.url,
      result: q.webhook.result,
      attempt: q.attempt,
      status,
      at: new Date(),
    });
    this.log?.({ msg: 'kyc sandbox webhook sent', checkId: q.webhook.checkId, attempt: q.attempt, status });
    const ok = status >= 200 && status < 300;
    const wait = SUMSUB_RETRY_SCHEDULE_MS[q.attempt - 1];
    if (!ok && wait !== undefined) {
      this.queue.push({ ...q, attempt: q.attempt + 1, due: Date.now() + Math.round(wait * this.retryScale) });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.queue = [];
  }
}
