import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { leaseDueStarts, markFailed, type PendingStart } from '../db/outbox';
import { settleOutbox } from '../db/waits';
import { startFanout } from './temporal-start';
import { relayWaitSignals, sendWaitSignals } from './wait-signals';

export interface DispatcherMetrics {
  started(path: 'immediate' | 'relay', lagSeconds: number | undefined): void;
  startFailed(path: 'immediate' | 'relay'): void;
}

/** How long stop() waits for unanswered starts before cancelling them (their rows stay in the outbox). */
const STOP_GRACE_MS = 5_000;

/**
 * A start unanswered this long is given up (its row is retried with backoff; a start that did
 * land answers "already started" then): a hung Temporal must not hold the budget's slots.
 */
const START_TIMEOUT_MS = 10_000;

/**
 * The share of the budget the relay may fill. A backlog (a 5,000-event batch, a replay, an
 * outage's leftovers) then never takes every slot: events recorded meanwhile start at once
 * instead of queueing behind it, and the server's own queue of starts stays short (measured in
 * bench/, "Fairness": another operator's commit → start lag while a backlog drains).
 */
const RELAY_SHARE = 0.5;

/** How long a relay holds rows it is starting before another relay may take them (default). */
const RELAY_LEASE_SECONDS = 60;

/**
 * Workflow starts in flight at once per process, immediate and relay together. Measured in
 * bench/ against the Temporal dev server here: a plain start loop reaches its maximum rate
 * with 4 to 16 starts in flight (about 150/s) and no more with 64 or 200; more in flight only
 * queue inside the server, each still costing gRPC work and memory in this process, and
 * stalled the API's event loop for tens of milliseconds when 200 were issued at once.
 */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/**
 * Immediate hand-offs that found the budget full wait in memory for a slot, up to this many
 * budgets' worth: a short spike (a slow answer from Temporal) then costs milliseconds, not
 * the outbox's 5-second grace plus a relay sweep (measured in bench/: fan-out lag p99 6 s at
 * 50 events/s without this queue). Past it, rows wait in the outbox; memory stays bounded.
 */
const QUEUE_BUDGETS = 4;

export interface DispatcherOptions {
  pool: Pool;
  client: Client;
  taskQueue: string;
  log: Logger;
  metrics?: DispatcherMetrics;
  /** Starts in flight at most (immediate and relay together); beyond that rows wait in the outbox. */
  maxInFlight?: number;
  relayIntervalMs?: number;
  /**
   * How long a relay holds the rows it leased (default 60 s): if it dies holding them, another
   * relay takes them once this has passed. Tests shorten it to see that happen.
   */
  relayLeaseSeconds?: number;
}

/**
 * Moves committed outbox rows into Temporal.
 *
 * - Immediate path: right after the recording transaction commits, the API hands the row
 *   here and answers the caller without waiting; the start happens in the background.
 * - Relay: a sweep of rows whose immediate start did not happen (process died, Temporal
 *   down, too many in flight) or that were queued for it (batches), safe with many
 *   instances (leases taken with SKIP LOCKED). It runs every `relayIntervalMs`, and at once
 *   when nudged.
 *
 * Both paths may race on one row; the second start sees "already started", which is success.
 */
export class FanoutDispatcher {
  private inFlight = 0;
  /** Of `inFlight`, the relay's starts: at most `relayMax`, so live events always find slots. */
  private relayInFlight = 0;
  private readonly relayMax: number;
  private readonly done: Array<{ operatorId: string; workflowId: string }> = [];
  private flushTimer?: NodeJS.Timeout;
  private relayTimer?: NodeJS.Timeout;
  private relayLoop = false;
  private pumping?: Promise<void>;
  private pumpAgain = false;
  private stopped = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly waiters: Array<() => void> = [];
  private readonly queued: PendingStart[] = [];
  private readonly max: number;
  private readonly leaseSeconds: number;
  /**
   * Cancel every start still in flight when stop() gives up waiting. One controller per start
   * rather than one signal shared by all: every start adds a listener to its signal, and a
   * shared signal's list grew with the starts in flight (measured in bench/: 4 % of the API's
   * CPU in addEventListener at 64 connections).
   */
  private readonly cancels = new Set<AbortController>();

  constructor(private readonly o: DispatcherOptions) {
    this.max = o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.leaseSeconds = o.relayLeaseSeconds ?? RELAY_LEASE_SECONDS;
    this.relayMax = Math.max(1, Math.floor(this.max * RELAY_SHARE));
  }

  /** Fire-and-forget start after commit; never throws, never blocks the caller. */
  dispatch(row: PendingStart): void {
    if (this.stopped) return;
    if (this.inFlight < this.max) this.startImmediate(row);
    // Beyond the queue the row simply stays in the outbox: the relay starts it when due.
    else if (this.queued.length < QUEUE_BUDGETS * this.max) this.queued.push(row);
  }

  private startImmediate(row: PendingStart): void {
    this.track(
      this.startOne(row, 'immediate').then((ok) => {
        if (ok) this.markDone(row);
      }),
    );
  }

  /**
   * Asks for a sweep now rather than at the next tick: rows were just queued for the relay
   * (a batch's fan-out). Works whether or not the periodic relay runs in this process.
   */
  nudge(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.runPump();
  }

  private track(work: Promise<unknown>, relay = false): void {
    this.inFlight++;
    if (relay) this.relayInFlight++;
    const p: Promise<void> = work
      .then(() => undefined)
      .finally(() => {
        this.inFlight--;
        if (relay) this.relayInFlight--;
        this.pending.delete(p);
        const next = this.stopped ? undefined : this.queued.shift();
        if (next) this.startImmediate(next);
        for (const wake of this.waiters.splice(0)) wake();
      });
    this.pending.add(p);
  }

  private async startOne(row: PendingStart, path: 'immediate' | 'relay'): Promise<boolean> {
    const cancel = new AbortController();
    this.cancels.add(cancel);
    try {
      // A start-less row (matched against waits only) has nothing to start.
      if (row.start !== false)
        await this.o.client.withAbortSignal(cancel.signal, () =>
          this.o.client.withDeadline(Date.now() + START_TIMEOUT_MS, () =>
            startFanout(this.o.client, this.o.taskQueue, row),
          ),
        );
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
    } finally {
      this.cancels.delete(cancel);
    }
  }

  /**
   * Deletes started rows in small batches rather than one statement per event; the same
   * statement matches them against open waits (settleOutbox), whose signals go out at once.
   */
  private markDone(row: PendingStart): void {
    this.done.push({ operatorId: row.payload.operatorId, workflowId: row.workflow_id });
    this.flushTimer ??= setTimeout(() => void this.flush(), 20);
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const ids = this.done.splice(0, this.done.length);
    if (ids.length === 0) return;
    let signals;
    try {
      signals = await settleOutbox(this.o.pool, ids);
    } catch (err) {
      // The rows stay; the relay will find them, get "already started", and delete them.
      this.o.log.warn({ err, count: ids.length }, 'could not clear started outbox rows');
      return;
    }
    if (signals.length > 0) await sendWaitSignals(this.o.pool, this.o.client, signals, this.o.log);
  }

  /** One sweep of up to `limit` due rows (and due wait signals), awaited; returns how many rows it handled. For tests and the CLI. */
  async sweep(limit = this.max): Promise<number> {
    const rows = await leaseDueStarts(this.o.pool, limit, this.leaseSeconds);
    await Promise.all(rows.map((r) => this.relayOne(r)));
    await this.flush();
    await this.relaySignals();
    return rows.length;
  }

  private async relayOne(row: PendingStart): Promise<void> {
    if (await this.startOne(row, 'relay')) {
      this.markDone(row);
      return;
    }
    try {
      await markFailed(this.o.pool, row.payload.operatorId, row.workflow_id, 'start failed');
    } catch (err) {
      // The lease runs out instead and the row falls due again.
      this.o.log.warn({ err, workflowId: row.workflow_id }, 'could not record a failed start');
    }
  }

  /**
   * Drains what is due within its share of the budget, topping up as starts finish rather
   * than waiting for the slowest start of a batch (measured in bench/: batch-at-a-time sweeps
   * reached 0.58× of a plain start loop at the same concurrency). It tops up once a quarter
   * of its share is free, and leaves the slots to queued immediate hand-offs first.
   */
  private async pump(): Promise<void> {
    const least = Math.max(1, Math.floor(this.relayMax / 4));
    for (;;) {
      if (this.stopped) return;
      const free = Math.min(this.max - this.inFlight, this.relayMax - this.relayInFlight);
      if (free < least || this.queued.length > 0) {
        await this.slotFreed();
        continue;
      }
      const rows = await leaseDueStarts(this.o.pool, free, this.leaseSeconds);
      for (const row of rows) this.track(this.relayOne(row), true);
      if (rows.length < free) return;
    }
  }

  private runPump(): void {
    this.pumpAgain = false;
    this.pumping = this.pump()
      .catch((err: unknown) => this.o.log.warn({ err }, 'fan-out relay sweep failed'))
      .finally(() => {
        this.pumping = undefined;
        if (this.pumpAgain && !this.stopped) this.runPump();
        else this.scheduleTick();
      });
  }

  private scheduleTick(): void {
    if (!this.relayLoop || this.stopped || this.relayTimer) return;
    this.relayTimer = setTimeout(() => {
      this.relayTimer = undefined;
      this.nudge();
      void this.relaySignals();
    }, this.o.relayIntervalMs ?? 1000);
  }

  /** Signals whose immediate send did not happen (process died, Temporal down): one sweep at a time. */
  private signalSweep?: Promise<unknown>;
  private relaySignals(): Promise<unknown> {
    this.signalSweep ??= relayWaitSignals(this.o.pool, this.o.client, this.o.log)
      .catch((err: unknown) => this.o.log.warn({ err }, 'wait signal relay sweep failed'))
      .finally(() => (this.signalSweep = undefined));
    return this.signalSweep;
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  startRelay(): void {
    this.relayLoop = true;
    this.scheduleTick();
  }

  /**
   * Stops sweeping, waits up to `graceMs` for the starts in flight, and clears what they
   * started. A start still unanswered then (Temporal hung or unreachable) is cancelled: its
   * row stays in the outbox for a relay, so a shutdown never hangs on Temporal.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    this.queued.length = 0; // their rows stay in the outbox
    if (this.relayTimer) clearTimeout(this.relayTimer);
    for (const wake of this.waiters.splice(0)) wake(); // a pump waiting for a slot
    await this.pumping;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      Promise.allSettled([...this.pending]).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      this.o.log.warn(
        { inFlight: this.pending.size },
        'stopping with workflow starts unanswered: cancelled; their outbox rows stay for a relay',
      );
      for (const cancel of this.cancels) cancel.abort();
      await Promise.allSettled([...this.pending]);
    }
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flush();
    await this.signalSweep;
  }
}
