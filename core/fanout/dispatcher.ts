import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { clearStarted, leaseDueStarts, markFailed, type PendingStart } from '../db/outbox';
import { startFanout } from './temporal-start';

export interface DispatcherMetrics {
  started(path: 'immediate' | 'relay', lagSeconds: number | undefined): void;
  startFailed(path: 'immediate' | 'relay'): void;
}

/** How long a relay holds rows it is starting before another relay may take them. */
const RELAY_LEASE_SECONDS = 60;

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
  private relayInFlight = 0;
  private readonly waiters: Array<() => void> = [];

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
    const rows = await leaseDueStarts(this.o.pool, this.o.relayBatchSize ?? 200, RELAY_LEASE_SECONDS);
    await Promise.all(rows.map((r) => this.relayOne(r)));
    await this.flush();
    return rows.length;
  }

  private async relayOne(row: PendingStart): Promise<void> {
    if (await this.startOne(row, 'relay')) {
      this.markDone(row.workflow_id);
      return;
    }
    try {
      await markFailed(this.o.pool, row.workflow_id, 'start failed');
    } catch (err) {
      // The lease runs out instead and the row falls due again.
      this.o.log.warn({ err, workflowId: row.workflow_id }, 'could not record a failed start');
    }
  }

  /**
   * Drains what is due with up to `relayBatchSize` starts in flight all the time, topping up
   * as starts finish rather than waiting for the slowest start of a batch (measured in
   * bench/: batch-at-a-time sweeps reached 0.58× of a plain start loop at the same concurrency).
   */
  private async pump(): Promise<void> {
    const max = this.o.relayBatchSize ?? 200;
    for (;;) {
      if (this.stopped) return;
      const free = max - this.relayInFlight;
      // Top up in chunks, not one row per finished start.
      if (free < Math.max(1, max / 4)) {
        await this.slotFreed();
        continue;
      }
      const rows = await leaseDueStarts(this.o.pool, free, RELAY_LEASE_SECONDS);
      for (const row of rows) {
        this.relayInFlight++;
        const p = this.relayOne(row).finally(() => {
          this.relayInFlight--;
          this.pending.delete(p);
          for (const wake of this.waiters.splice(0)) wake();
        });
        this.pending.add(p);
      }
      if (rows.length < free) {
        // Nothing more is due now: let these finish; the next tick looks again.
        while (this.relayInFlight > 0) await this.slotFreed();
        return;
      }
    }
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  startRelay(): void {
    const interval = this.o.relayIntervalMs ?? 1000;
    const tick = async (): Promise<void> => {
      try {
        await this.pump();
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
