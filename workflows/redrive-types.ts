/**
 * Shapes of a re-drive or backfill (`redriveDefinition`): plain data, recorded in history and
 * shared with the activity that selects events and with the CLI.
 */
import type { FanoutInput } from './types';

/**
 * Which events a run covers. `redrive`: events whose workflow planned the definition;
 * `redrive-failed`: those whose workflow names it in `FailedDefinitions`; `backfill`: events
 * its trigger and condition match but whose workflow did not plan it.
 */
export type RedriveMode = 'redrive' | 'redrive-failed' | 'backfill';

export interface RedriveCriteria {
  mode: RedriveMode;
  definition: string;
  operatorId?: string;
  /** ISO timestamps; events with since ≤ created_at < until. */
  since: string;
  until: string;
  /**
   * The re-drive doing the selecting, if started: a backfill skips events an earlier backfill
   * already ran the definition for, and its own runs are not earlier ones.
   */
  redriveId?: string;
}

/** Keyset position on events (created_at, id): the last event of the previous page. */
export interface RedriveCursor {
  createdAt: string;
  id: string;
}

export interface RedrivePage {
  /** The events of this page to run the definition for. */
  events: FanoutInput[];
  /** Events read in this page, selected or not. */
  scanned: number;
  /** Where the next page starts; null when the range is exhausted. */
  next: RedriveCursor | null;
}

export interface RedriveProgress {
  /** Events selected, as counted before the start (null if not counted). */
  total: number | null;
  scanned: number;
  selected: number;
  completed: number;
  /** Runs in which the definition failed again. */
  failed: number;
  /**
   * Runs of a definition that waits (`waits: true`) still running 30 s after their page
   * started them: they may wait for days, and a page waiting for them would stall the run.
   * Their outcome is in each re-run's own workflow (and `GET /events/:eventId/fanout`).
   */
  waiting: number;
  pages: number;
  cursor: RedriveCursor | null;
  done: boolean;
}

export interface RedriveInput extends RedriveCriteria {
  redriveId: string;
  /** Events read per page (one activity). */
  pageSize: number;
  /** Re-runs per second at most: the timer between pages keeps live traffic ahead. */
  ratePerSecond: number;
  /** Pages per run before continue-as-new, keeping each run's history short. */
  pagesPerRun: number;
  /** Events selected, as the CLI counted them before the start. */
  total?: number;
  /** Carried across continue-as-new. */
  progress?: RedriveProgress;
}

export const REDRIVE_WORKFLOW = 'redriveDefinition';
export const REDRIVE_PROGRESS_QUERY = 'progress';

export const redriveWorkflowId = (redriveId: string): string => `redrive:${redriveId}`;
/** The child that re-runs the definition for one event: unique per re-drive and event. */
export const redriveChildId = (redriveId: string, eventId: string): string =>
  `redrive:${redriveId}:${eventId}`;
