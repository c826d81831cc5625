import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { eventWorkflowId } from '../core/ids';
import type { Outcome } from './load';

/** The columns of the RELIABILITY.md table that come from counting, for one scenario run. */
export interface Tally {
  acknowledged: number;
  stored: number;
  workflows: number;
  duplicates: number;
  lost: number;
  /** Outbox rows still waiting when the check ended (should be 0: the backlog drained). */
  backlog: number;
  /** Seconds from the start of the check until every stored event had its workflow. */
  drainSeconds: number;
  problems: string[];
}

interface StoredEvent {
  id: string;
  event_type: string;
}

async function storedEvents(pool: Pool, operatorId: string): Promise<StoredEvent[]> {
  const { rows } = await pool.query<StoredEvent>('select id, event_type from events where operator_id = $1', [
    operatorId,
  ]);
  return rows;
}

async function outboxBacklog(pool: Pool, operatorId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'select count(*)::int as n from fanout_outbox where operator_id = $1',
    [operatorId],
  );
  return rows[0]?.n ?? 0;
}

/** Every execution visibility knows for this operator's fan-outs: workflow ID → run IDs. */
async function visibleRuns(client: Client, operatorId: string): Promise<Map<string, Set<string>>> {
  const runs = new Map<string, Set<string>>();
  const query = `OperatorId = '${operatorId}' AND WorkflowType = 'processEvent'`;
  for await (const wf of client.workflow.list({ query })) {
    // Entity upserts (creating the run's players) fan out too; only events are counted here.
    if (!wf.workflowId.startsWith('entity_event.')) continue;
    const set = runs.get(wf.workflowId) ?? new Set<string>();
    set.add(wf.runId);
    runs.set(wf.workflowId, set);
  }
  return runs;
}

/** Exact, unlike visibility: does this workflow ID have an execution? */
async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits for the fan-out of one run to settle, then counts. Settled = no outbox rows left for
 * the operator, every stored event's workflow visible, and the visible total unchanged between
 * two polls (the dev server's visibility lags the executions slightly). Whatever is still
 * missing at the deadline is asked for by ID, which is exact, before it counts as lost.
 */
export async function verifyRun(
  pool: Pool,
  client: Client,
  operatorId: string,
  outcomes: Outcome[],
  timeoutMs: number,
  log: (m: string) => void = () => undefined,
): Promise<Tally> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const acked = new Set(outcomes.flatMap((o) => (o.eventId ? [o.eventId] : [])));
  let stored: StoredEvent[] = [];
  let runs = new Map<string, Set<string>>();
  let backlog = 0;
  let previousTotal = -1;
  let drainSeconds = NaN;
  for (;;) {
    stored = await storedEvents(pool, operatorId);
    backlog = await outboxBacklog(pool, operatorId);
    runs = await visibleRuns(client, operatorId);
    const total = [...runs.values()].reduce((n, s) => n + s.size, 0);
    const allVisible = stored.every((e) => runs.has(eventWorkflowId(e.event_type, e.id)));
    if (backlog === 0 && allVisible && Number.isNaN(drainSeconds))
      drainSeconds = (Date.now() - started) / 1000;
    if (backlog === 0 && allVisible && total === previousTotal) break;
    if (total !== previousTotal)
      log(`  fan-out: ${backlog} outbox rows pending, ${runs.size}/${stored.length} workflows visible`);
    previousTotal = total;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
  }

  const problems: string[] = [];
  const storedIds = new Set(stored.map((e) => e.id));
  const notStored = [...acked].filter((id) => !storedIds.has(id));
  if (notStored.length) problems.push(`acknowledged but not stored: ${notStored.slice(0, 5).join(', ')}`);

  let withWorkflow = 0;
  const noWorkflow: string[] = [];
  for (const e of stored) {
    const id = eventWorkflowId(e.event_type, e.id);
    if (runs.has(id) || (await exists(client, id))) withWorkflow++;
    else noWorkflow.push(id);
  }
  if (noWorkflow.length) problems.push(`stored without a workflow: ${noWorkflow.slice(0, 5).join(', ')}`);

  const expected = new Set(stored.map((e) => eventWorkflowId(e.event_type, e.id)));
  let duplicates = 0;
  for (const [id, set] of runs) {
    if (set.size > 1) duplicates += set.size - 1;
    if (!expected.has(id)) {
      duplicates++;
      problems.push(`workflow without a stored event: ${id}`);
    }
  }
  if (duplicates) problems.push(`${duplicates} duplicate workflow executions`);
  if (backlog) problems.push(`${backlog} outbox rows still pending`);

  return {
    acknowledged: acked.size,
    stored: stored.length,
    workflows: withWorkflow,
    duplicates,
    lost: notStored.length + noWorkflow.length,
    backlog,
    drainSeconds: Number.isNaN(drainSeconds) ? (Date.now() - started) / 1000 : drainSeconds,
    problems,
  };
}
