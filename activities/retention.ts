import { Context } from '@temporalio/activity';
import {
  archiveEventsBatch,
  listEventRetentionTargets,
  purgeArchiveBatch,
  type RetentionTarget,
} from '../core/db/retention';
import {
  ensureArchiveMonths,
  ensureEventPartitions,
  retireMonths,
  type PartitionRetentionResult,
} from '../core/db/partitions';

export type { PartitionRetentionResult };
import { pruneWebhookLog } from '../core/db/webhook-log';
import { pruneCancelledWaits } from '../core/db/waits';
import type { ResolvedDeps } from './index';

const DAY_MS = 86_400_000;

/**
 * Horizons apply to whole UTC months: an event leaves the hot table (or the archive) with its
 * month, once the month's last instant is past hot_days (archive_days). So it goes between
 * hot_days and hot_days + one month after it was recorded, and a month every present operator
 * is done with moves or drops whole (core/db/partitions.ts) instead of being swept day by day.
 */
const monthStart = (t: number): Date => {
  const d = new Date(t);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
};

export interface OperatorRetentionResult {
  operatorId: string;
  hotDays: number;
  archiveDays: number;
  archived: number;
  deleted: number;
  /** false when the batch budget ran out first: the next run continues. */
  complete: boolean;
}

export function retentionActivities(deps: ResolvedDeps) {
  return {
    async listRetentionTargets(): Promise<RetentionTarget[]> {
      return listEventRetentionTargets(deps.pool);
    },

    /**
     * Whole months first (core/db/partitions.ts): a past month whose present operators' horizons
     * have all passed moves to events_archive or is dropped, as catalog work. What is left (a
     * month some operator still keeps, the first partition from before partitioning) goes to
     * enforceEventRetention's bounded row sweep.
     */
    async retireEventMonths(q: {
      targets: RetentionTarget[];
      asOf: string;
    }): Promise<PartitionRetentionResult> {
      const out = await retireMonths(deps.pool, q.targets, new Date(q.asOf));
      if (out.monthsArchived.length + out.monthsDropped.length > 0) {
        deps.log.info(out, 'retention: whole months archived or dropped');
      }
      return out;
    },

    /** This month's events partition and the next `monthsAhead` (the event-partitions schedule). */
    async ensureEventPartitions(q: { monthsAhead: number }): Promise<number> {
      const made = await ensureEventPartitions(deps.pool, q.monthsAhead);
      if (made > 0) deps.log.info({ made }, 'event partitions created');
      return made;
    },

    /**
     * The webhook delivery log older than WEBHOOK_LOG_RETENTION_DAYS before `asOf`: bounded
     * like the events (`maxBatches` statements of `batchSize`); answers how many messages went.
     */
    async pruneWebhookDeliveryLog(q: {
      asOf: string;
      batchSize: number;
      maxBatches: number;
    }): Promise<number> {
      const before = new Date(Date.parse(q.asOf) - deps.config.WEBHOOK_LOG_RETENTION_DAYS * DAY_MS);
      let deleted = 0;
      for (let i = 0; i < q.maxBatches; i++) {
        const n = await pruneWebhookLog(deps.pool, before, q.batchSize);
        deleted += n;
        Context.current().heartbeat(deleted);
        if (n < q.batchSize) break;
      }
      return deleted;
    },

    /**
     * One operator's events: those in months wholly past hot_days move to events_archive,
     * archived ones in months wholly past archive_days are removed (monthStart). Ages are measured from `asOf` (the workflow's
     * clock), so a retried attempt applies the same cutoffs. Bounded: at most `maxBatches`
     * statements of `batchSize` rows each, heartbeating between them.
     */
    async enforceEventRetention(q: {
      target: RetentionTarget;
      asOf: string;
      batchSize: number;
      maxBatches: number;
    }): Promise<OperatorRetentionResult> {
      const now = Date.parse(q.asOf);
      const { hot_days: hotDays, archive_days: archiveDays } = q.target.events;
      const hotCutoff = monthStart(now - hotDays * DAY_MS);
      const archiveCutoff = monthStart(now - archiveDays * DAY_MS);
      const operatorId = q.target.operatorId;
      let archived = 0;
      let deleted = 0;
      let batches = 0;
      const drain = async (step: () => Promise<number>, add: (n: number) => void) => {
        while (batches < q.maxBatches) {
          const n = await step();
          batches++;
          add(n);
          Context.current().heartbeat({ archived, deleted });
          if (n < q.batchSize) return true;
        }
        return false;
      };
      // The months these events are in need an archive partition (catalog work, once each).
      await ensureArchiveMonths(deps.pool, operatorId, hotCutoff);
      const moved = await drain(
        () => archiveEventsBatch(deps.pool, { operatorId, cutoff: hotCutoff, limit: q.batchSize }),
        (n) => (archived += n),
      );
      const purged = await drain(
        () => purgeArchiveBatch(deps.pool, { operatorId, cutoff: archiveCutoff, limit: q.batchSize }),
        (n) => (deleted += n),
      );
      // Cancellations kept for the fan-out status of still-running workflows (core/db/waits.ts):
      // past the hot horizon their workflows are long closed.
      await pruneCancelledWaits(deps.pool, operatorId, hotCutoff);
      if (archived + deleted > 0) {
        deps.log.info({ operatorId, archived, deleted }, 'retention applied');
      }
      return { operatorId, hotDays, archiveDays, archived, deleted, complete: moved && purged };
    },
  };
}
