import type { Pool } from 'pg';
import { Coalescer, type CoalescerOptions } from '../coalescer';
import type { Config } from '../config';
import { recordEvents, type EventWrite, type RecordEventResult } from '../db/events';
import { isDatabaseUnavailable } from '../db/pool';

/** The grouping the configuration asks for (RECORD_GROUP_* in core/config.ts). */
export function eventGroups(
  c: Pick<Config, 'RECORD_GROUP_MAX_SIZE' | 'RECORD_GROUP_CONCURRENCY' | 'RECORD_GROUP_WINDOW_MS'>,
  onGroup?: (size: number) => void,
): CoalescerOptions {
  return {
    maxGroup: c.RECORD_GROUP_MAX_SIZE,
    maxConcurrent: c.RECORD_GROUP_CONCURRENCY,
    windowMs: c.RECORD_GROUP_WINDOW_MS,
    onGroup,
  };
}

/**
 * The recording path of single events: concurrent `POST /events` requests in this process
 * share one statement and one commit (core/coalescer.ts), each still answered with its own
 * outcome. Under load that turns N statements, N commits and N WAL flushes into one; when the
 * process is idle a request is written at once, alone. Durability is unchanged: a request is
 * answered after the commit that holds its event.
 */
export class EventWriter {
  private readonly coalescer: Coalescer<EventWrite, RecordEventResult>;

  constructor(
    private readonly pool: Pool,
    options: CoalescerOptions,
  ) {
    this.coalescer = new Coalescer((items) => this.writeGroup(items), options);
  }

  record(e: EventWrite): Promise<RecordEventResult> {
    return this.coalescer.submit(e);
  }

  /**
   * One statement for the group. If it fails for a reason other than the database being
   * unreachable (something about one item that validation let through), each item is written
   * again on its own, so one bad item fails alone and never its neighbours.
   */
  private async writeGroup(items: EventWrite[]): Promise<Array<RecordEventResult | Error>> {
    try {
      return await recordEvents(this.pool, items);
    } catch (err) {
      if (items.length === 1 || isDatabaseUnavailable(err)) throw err;
      return Promise.all(
        items.map((item) =>
          recordEvents(this.pool, [item]).then(
            ([r]) => r!,
            (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
          ),
        ),
      );
    }
  }
}
