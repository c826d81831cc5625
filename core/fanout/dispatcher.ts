import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { claimDueStarts, clearStarted, markFailed, markStarted, type PendingStart } from '../db/outbox';
import { withTransaction } from '../db/pool';
import { startFanout } from './temporal-start';

export interface DispatcherMetrics {
  started(path: 'immediate' | 'relay', lagSeconds: number | undefined): void;
  startFailed(path: 'immediate' | 'relay'): void;
}

export interface DispatcherOptions {
  pool: Pool;
  client: Client;
  taskQueue: string;
  log: Logger;
  metrics?: DispatcherMetrics;
  /** Immediate starts in flight at most; beyond that the relay picks rows up. */
  maxInFlight?: number;
  relayIntervalMs?: number;
  relayBatchSize?: number;
}

/**
 * Moves committed outbox rows into Temporal.
 *
 * - Immediate path: right after the recording transaction commits, the API hands the row
 *   here and answers the caller without waiting; the start happens in the background.
 * - Relay: a periodic sweep of rows whose immediate start did not happen (process died,
 *   Temporal down, too many in flight), safe with many instances (SKIP LOCKED).
 *
 * Both paths may race on one row; the second start sees "already started", which is success.
 */
export class FanoutDispatcher {
  private inFlight = 0;
  private readonly done: string[] = [];
  private flushTimer?: NodeJS.Timeout;
  private relayTimer?: NodeJS.Timeout;
  private relayRunning?: Promise<void>;
  private stopped = false;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: DispatcherOptions) {}

  /** Fire-and-forget start after commit; never throws, never blocks the caller. */
  dispatch(row: PendingStart): void {
    if (this.stopped || this.inFlight >= (this.o.maxInFlight ?? 256)) return;
    this.inFlight++;
    const p = this.startOne(row, 'immediate')
      .then((ok) => {
        if (ok) this.markDone(row.workflow_id);
      })
      .finally(() => {
        this.inFlight--;
        this.pending.delete(p);
      });
    this.pending.add(p);
  }

  private async startOne(row: PendingStart, path: 'immediate' | 'relay'): Promise<boolean> {
    try {
      await startFanout(this.o.client, this.o.taskQueue, row);
      this.o.log.debug({ workflowId: row.workflow_id, path }, 'workflow started');
      const occurred = Date.parse(row.payload.occurredAt);
      this.o.metrics?.started(path, Number.isNaN(occurred) ? undefined : (Date.now() - occurred) / 1000);
      return true;
    } catch (err) {
      this.o.metrics?.startFailed(path);
      this.o.log.warn(
        { err, workflowId: row.workflow_id, path },
        'workflow start failed; the relay will retry',
      );
      return false;
    }
  }

  /** Deletes started rows in small batches rather than one statement per event. */
  private markDone(workflowId: string): void {
    this.done.push(workflowId);
    this.flushTimer ??= setTimeout(() => void this.flush(), 20);
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const ids = this.done.splice(0, this.done.length);
    if (ids.length === 0) return;
    try {
      await clearStarted(this.o.pool, ids);
    } catch (err) {
      // The rows stay; the relay will find them, get "already started", and delete them.
      this.o.log.warn({ err, count: ids.length }, 'could not clear started outbox rows');
    }
  }

  /** One sweep; returns how many rows it handled. Exposed for tests and the CLI. */
  async sweep(): Promise<number> {
    const limit = this.o.relayBatchSize ?? 200;
    return withTransaction(this.o.pool, async (tx) => {
      const rows = await claimDueStarts(tx, limit);
      const results = await Promise.all(rows.map((r) => this.startOne(r, 'relay')));
      const started = rows.filter((_, i) => results[i]).map((r) => r.workflow_id);
      await markStarted(tx, started);
      for (const [i, r] of rows.entries()) {
        if (!results[i]) await markFailed(tx, r.workflow_id, 'start failed');
      }
      return rows.length;
    });
  }

  startRelay(): void {
    const interval = this.o.relayIntervalMs ?? 1000;
    const tick = async (): Promise<void> => {
      try {
        // Drain a backlog quickly: sweep again at once while full batches come back.
        while (!this.stopped && (await this.sweep()) >= (this.o.relayBatchSize ?? 200));
      } catch (err) {
        this.o.log.warn({ err }, 'fan-out relay sweep failed');
      }
    };
    const loop = (): void => {
      if (this.stopped) return;
      this.relayRunning = tick().finally(() => {
        this.relayRunning = undefined;
        if (!this.stopped) this.relayTimer = setTimeout(loop, interval);
      });
    };
    this.relayTimer = setTimeout(loop, interval);
  }

  /** Stops sweeping, waits for in-flight starts, and clears what they started. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.relayTimer) clearTimeout(this.relayTimer);
    await this.relayRunning;
    await Promise.allSettled([...this.pending]);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flush();
  }
}
