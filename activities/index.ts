import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';
import { systemResolver, type Resolver } from '../core/security/webhook-destination';
import { kycActivities } from './kyc/activities';
import { kycFetchActivities } from './kyc/fetch-result';
import { PiiCipher } from '../core/security/pii';
import { kycResultActivities } from './kyc/results';
import { redriveActivities } from './redrive';
import { retentionActivities } from './retention';
import { riskActivities } from './risk';
import { sourceOfFundsActivities } from './source-of-funds';
import { waitActivities } from './waits';
import { webhookActivities } from './webhooks/activities';

/** Everything activities may touch, injected by the worker (or a test). */
export interface ActivityDeps {
  pool: Pool;
  log: Logger;
  config: Config;
  /** Outbound HTTP to the KYC provider; the global fetch unless a test injects one. */
  fetch?: typeof fetch;
  /** Resolves webhook hosts (once per delivery, then pinned); the system resolver unless a test injects one. */
  resolveHost?: Resolver;
  /** The activities' clock (check and flag timestamps, Retry-After dates). */
  now?: () => Date;
  /**
   * Starts the fan-out of the state writes activities make. Defaults to the worker's own
   * client (`Context.current().client`), so the worker needs no second connection.
   */
  temporal?: Client;
}

/** ActivityDeps with every optional dependency filled in. */
export type ResolvedDeps = Required<Omit<ActivityDeps, 'temporal'>> & Pick<ActivityDeps, 'temporal'>;

/** Builds the activities; they never read process.env or hard-code URLs. */
export function createActivities(deps: ActivityDeps) {
  const resolved: ResolvedDeps = {
    ...deps,
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    now: deps.now ?? (() => new Date()),
    resolveHost: deps.resolveHost ?? systemResolver,
  };
  return {
    ...kycActivities(resolved),
    ...kycResultActivities(resolved),
    ...kycFetchActivities(resolved, new PiiCipher(deps.config.PII_MASTER_KEY)),
    ...riskActivities(resolved),
    ...webhookActivities(resolved),
    ...retentionActivities(resolved),
    ...redriveActivities(resolved),
    ...waitActivities(resolved),
    ...sourceOfFundsActivities(resolved),
  };
}

export type Activities = ReturnType<typeof createActivities>;
