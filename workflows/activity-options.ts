import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * For activities that read or write our own Postgres (or config): quick, and worth retrying
 * without limit, since a database that is back after a restart makes them succeed. Calls to
 * outside services set their own options (timeouts, non-retryable errors, Retry-After).
 */
export const DATABASE_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
};

/**
 * The same, run as a local activity (in the workflow task that calls it, no activity task on
 * the queue): for one short statement on the path of a resumed wait (workflows/waits.ts).
 * Retried in the workflow task for a minute, then with durable backoff, like DATABASE_ACTIVITY.
 */
export const DATABASE_LOCAL_ACTIVITY: LocalActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
};

/**
 * A webhook is retried by Temporal, as an activity: the activity sets each retry's delay itself
 * (`nextRetryDelay`, from the WEBHOOK_RETRY_* config the workflow cannot read) and gives up,
 * non-retryably, once the next attempt would start after the retry window (a day by default).
 * The policy here only says "no attempt limit"; its intervals are a floor the activity overrides.
 */
export const WEBHOOK_DELIVERY: ActivityOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1h' },
};
