import type { Pool } from 'pg';
import type { FanoutDispatcher } from '../fanout/dispatcher';
import type { PiiCipher } from '../security/pii';
import type { EventWriter } from './event-writer';

/** What the operations of the Operator Data API need; built once per process. */
export interface DomainDeps {
  pool: Pool;
  dispatcher: Pick<FanoutDispatcher, 'dispatch' | 'nudge'>;
  pii: PiiCipher;
  /** Records single events, concurrent ones together (core/domain/event-writer.ts). */
  events: Pick<EventWriter, 'record'>;
}
