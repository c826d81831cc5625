import type { Pool } from 'pg';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';

/** Everything activities may touch, injected by the worker (or a test). */
export interface ActivityDeps {
  pool: Pool;
  log: Logger;
  config: Config;
}

/** Builds the activities; they never read process.env or hard-code URLs. */
export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
