import { patched, proxyActivities, setWorkflowOptions, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OperatorRetentionResult } from '../activities/retention';
import type { PartitionRetentionResult } from '../activities/retention';

/** Our own database; each call is bounded (maxBatches) and heartbeats between batches. */
const DATABASE: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 10 },
};

const { listRetentionTargets, enforceEventRetention, pruneWebhookDeliveryLog, retireEventMonths } =
  proxyActivities<Activities>(DATABASE);

export interface RetentionInput {
  /** Rows per statement. */
  batchSize?: number;
  /** Statements per operator per run; what is left waits for the next run. */
  maxBatches?: number;
}

export interface RetentionResult {
  asOf: string;
  operators: number;
  archived: number;
  deleted: number;
  complete: boolean;
  perOperator: OperatorRetentionResult[];
  /**
   * Whole months moved to the archive or dropped (absent in runs from before partitioning);
   * their rows are not in `archived` / `deleted`, which count the row sweep's.
   */
  months?: PartitionRetentionResult;
  /** Webhook delivery log messages removed (absent in runs from before the log existed). */
  webhookMessagesDeleted?: number;
}

/**
 * Enforces every operator's `retentionPolicy.entity_events` (run daily by the `retention`
 * schedule, see worker/retention-schedule.ts). Operators are handled one after another: the
 * work is database-bound, and one at a time keeps it from crowding out live traffic.
 */
export async function applyRetention(input: RetentionInput = {}): Promise<RetentionResult> {
  // Workflow time is recorded in history: a replay or a retried activity uses the same cutoffs.
  const asOf = new Date().toISOString();
  const targets = await listRetentionTargets();
  // Runs recorded before events were partitioned replay without this step.
  const months = patched('partition-retention') ? await retireEventMonths({ targets, asOf }) : undefined;
  const perOperator: OperatorRetentionResult[] = [];
  for (const target of targets) {
    perOperator.push(
      await enforceEventRetention({
        target,
        asOf,
        batchSize: input.batchSize ?? 1000,
        maxBatches: input.maxBatches ?? 200,
      }),
    );
  }
  // Runs recorded before the delivery log existed replay without this step.
  const webhookMessagesDeleted = patched('webhook-log-retention')
    ? await pruneWebhookDeliveryLog({
        asOf,
        batchSize: input.batchSize ?? 1000,
        maxBatches: input.maxBatches ?? 200,
      })
    : undefined;
  return {
    asOf,
    ...(webhookMessagesDeleted === undefined ? {} : { webhookMessagesDeleted }),
    ...(months === undefined ? {} : { months }),
    operators: perOperator.length,
    archived: perOperator.reduce((n, r) => n + r.archived, 0),
    deleted: perOperator.reduce((n, r) => n + r.deleted, 0),
    complete: perOperator.every((r) => r.complete),
    perOperator,
  };
}

// Pinned: a run lasts minutes and starts each day on the current build; nothing to patch.
setWorkflowOptions({ versioningBehavior: 'PINNED' }, applyRetention);
