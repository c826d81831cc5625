import { randomBytes } from 'node:crypto';

/** `<prefix>` + 16 lowercase hex characters (8 random bytes). */
function hexId(prefix: string): string {
  return prefix + randomBytes(8).toString('hex');
}

export const newEventId = (): string => hexId('eev_');
export const newEntityId = (): string => hexId('ent_');
export const newJobId = (): string => hexId('job_');
export const newOperatorId = (): string => hexId('op_');
export const newKeyId = (): string => hexId('key_');

/** The fan-out workflow of one recorded event, as the product names it. */
export const eventWorkflowId = (eventType: string, eventId: string): string =>
  `entity_event.${eventType}:${eventId}`;
