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

export const newEventId = (): string => hexId('eev_');
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
