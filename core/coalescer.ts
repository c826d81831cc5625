/** How a Coalescer groups work. */
export interface CoalescerOptions {
  /** Items per group at most. */
  maxGroup: number;
  /**
   * While a group is being written, how long a newly arrived item may wait for others to join
   * it before it is written anyway (0: only while every slot is busy). Never when idle.
   */
  windowMs: number;
  /** Groups being written at once (each holds one database connection). */
  maxConcurrent: number;
  /** Called with the size of every group written (for /metrics). */
  onGroup?: (size: number) => void;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers concurrent calls into groups written together, the way a Kafka producer lingers or
 * Postgres commits a group: an item submitted while nothing is being written goes at once, on
 * its own; items that arrive while every slot is busy (or, with a window, while any is) wait
 * and go together as soon as a slot frees. `write` answers one result per item, in order: a
 * value, or an Error for that item alone; if it throws, every item of the group gets the error.
 */
export class Coalescer<T, R> {
  private readonly queue: Array<Waiting<T, R>> = [];
  private running = 0;
  private firstQueuedAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly write: (items: T[]) => Promise<Array<R | Error>>,
    private readonly o: CoalescerOptions,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.queue.length === 0) this.firstQueuedAt = Date.now();
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.running < this.o.maxConcurrent) {
      const waited = Date.now() - this.firstQueuedAt;
      const lingering = this.running > 0 && this.queue.length < this.o.maxGroup && waited < this.o.windowMs;
      if (lingering) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, this.o.windowMs - waited);
        return;
      }
      const group = this.queue.splice(0, this.o.maxGroup);
      this.firstQueuedAt = Date.now();
      void this.flush(group);
    }
  }

  private async flush(group: Array<Waiting<T, R>>): Promise<void> {
    this.running++;
    this.o.onGroup?.(group.length);
    try {
      const results = await this.write(group.map((w) => w.item));
      group.forEach((w, i) => {
        const r = results[i];
        if (r instanceof Error) w.reject(r);
        else w.resolve(r as R);
      });
    } catch (err) {
      for (const w of group) w.reject(err);
    } finally {
      this.running--;
      this.pump();
    }
  }
}
