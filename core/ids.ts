import { randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn from a pool refilled 4 KB at a time: one call into the CSPRNG per 512 ids
 * instead of one per id (measured in bench/: a 5,000-event batch spent more time in
 * randomFillSync than in its SQL parameters).
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** `<prefix>` + 16 lowercase hex characters (8 random bytes). */
function hexId(prefix: string): string {
  if (offset + 8 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += 8;
  return prefix + pool.toString('hex', offset - 8, offset);
}

/**
 * An event id: `eev_` + 16 hex, the month of issue in the first byte, 7 random bytes after it.
 * `events` is partitioned by month (migration 018) and a unique index can only hold within a
 * partition, so nothing checks an id against other months. Naming the month in the id makes
 * ids of different months differ by construction (the byte repeats after 256 months, longer
 * than any retention); two ids of one month are kept apart by that month's unique index (a clash,
 * about n² / 2^57 for n events in a month, fails the statement as the single table's primary key
 * did). The month is the API's clock; an event recorded across midnight of a month's end may
 * land in the next month's partition, which changes nothing above.
 */
export function newEventId(now: Date = new Date()): string {
  const month = (now.getUTCFullYear() * 12 + now.getUTCMonth()) % 256;
  return `eev_${month.toString(16).padStart(2, '0')}${hexId('').slice(2)}`;
}
export const newEntityId = (): string => hexId('ent_');
export const newJobId = (): string => hexId('job_');
export const newOperatorId = (): string => hexId('op_');
export const newKeyId = (): string => hexId('key_');

/**
 * The workflow of one internal event occurrence: `<internal event>:<event id or ien_ fan-out
 * id>` (the outbox row's SQL writes the same: core/fanout/outbox-row.ts).
 */
export const fanoutWorkflowId = (internalEvent: string, id: string): string => `${internalEvent}:${id}`;

/** The fan-out workflow of one recorded event, as the product names it. */
export const eventWorkflowId = (eventType: string, eventId: string): string =>
  fanoutWorkflowId(`entity_event.${eventType}`, eventId);
