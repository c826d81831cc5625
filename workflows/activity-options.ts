import type { ActivityOptions } from '@temporalio/workflow';

/**
 * For activities that read or write our own Postgres (or config): quick, and worth retrying
 * without limit, since a database that is back after a restart makes them succeed. Calls to
 * outside services set their own options (timeouts, non-retryable errors, Retry-After).
 */
export const DATABASE_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
};
