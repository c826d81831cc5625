import {
  getBatchJob,
  insertBatchJob,
  insertEvents,
  putStates,
  upsertEntities,
  type BatchJobError,
} from '../db/batch';
import { withTransaction, type Queryable } from '../db/pool';
import { apiError, isApiError, type ApiError } from '../errors';
import { newEntityId, newEventId, newJobId } from '../ids';
import type { Template } from '../template/igaming';
import type { DomainDeps } from './deps';
import { checkEntity, newFanoutId, splitPii, type EntityInput } from './entities';
import { planParts } from '../fanout/plan';
import { checkEvent, entityNotFound, eventInput, type NewEvent } from './events';
import { checkStateKey, checkStateValue } from './states';
import { writeEventsAgain } from './write-again';

/** Items per request; past this the whole request is refused (nothing is written). */
export const BATCH_LIMITS = { entities: 1000, events: 5000, states: 1000 } as const;
export type BatchKind = keyof typeof BATCH_LIMITS;

export interface StateInput {
  externalId: string;
  key: string;
  value: unknown;
}

/** One item of a batch after its shape check: the parsed value, or why it failed. */
export type BatchItem<T> =
  | { index: number; externalId: string | null; value: T }
  | { index: number; externalId: string | null; error: ApiError };

export interface BatchResult {
  jobId: string;
  succeeded: number;
  failed: number;
  errors: BatchJobError[];
}

/**
 * Checks the body is an array within the kind's limit and parses each item with
 * `parseItem` (which throws an ApiError for a bad item). A bad item fails alone.
 */
export function parseBatch<T>(
  kind: BatchKind,
  body: unknown,
  parseItem: (raw: unknown) => T,
): BatchItem<T>[] {
  const limit = BATCH_LIMITS[kind];
  if (!Array.isArray(body)) {
    throw apiError({ code: 'VALIDATION_FAILED', message: 'The body must be a JSON array of items' });
  }
  if (body.length === 0 || body.length > limit) {
    throw apiError({
      code: 'VALIDATION_FAILED',
      message: `A batch of ${kind} holds 1 to ${limit} items; this one has ${body.length}`,
      details: [{ field: 'body', reason: `must hold 1 to ${limit} items` }],
    });
  }
  return body.map((raw: unknown, index) => {
    const externalId = externalIdOf(raw);
    try {
      return { index, externalId, value: parseItem(raw) };
    } catch (err) {
      if (!isApiError(err)) throw err;
      return { index, externalId, error: err };
    }
  });
}

function externalIdOf(raw: unknown): string | null {
  const id = raw && typeof raw === 'object' ? (raw as { externalId?: unknown }).externalId : undefined;
  return typeof id === 'string' ? id : null;
}

/** An item that passed every check, with the row to write for it. */
interface Staged<R> {
  index: number;
  externalId: string;
  row: R;
}

class Collector<R> {
  readonly errors: BatchJobError[] = [];
  readonly staged: Staged<R>[] = [];

  fail(index: number, externalId: string | null, err: ApiError): void {
    this.errors.push({ index, externalId, code: err.code, message: err.message });
  }

  /** Runs `stage` per parsed item; an ApiError it throws fails that item only. */
  stageAll<T extends { externalId: string }>(
    items: BatchItem<T>[],
    stage: (value: T, index: number) => R,
  ): this {
    for (const item of items) {
      if ('error' in item) {
        this.fail(item.index, item.externalId, item.error);
        continue;
      }
      try {
        this.staged.push({
          index: item.index,
          externalId: item.value.externalId,
          row: stage(item.value, item.index),
        });
      } catch (err) {
        if (!isApiError(err)) throw err;
        this.fail(item.index, item.externalId, err);
      }
    }
    return this;
  }
}

/** Refuses the second and later items with the same key (one statement cannot write a row twice). */
function firstOfEach<T>(keyOf: (v: T) => string, what: (v: T) => string): (v: T, index: number) => void {
  const seen = new Map<string, number>();
  return (v, index) => {
    const key = keyOf(v);
    const first = seen.get(key);
    if (first !== undefined) {
      throw apiError({
        code: 'VALIDATION_FAILED',
        message: `${what(v)} appears earlier in this batch (index ${first})`,
      });
    }
    seen.set(key, index);
  };
}

/**
 * Writes the staged rows and the job record in one transaction; staged items that `write`
 * reports as not written had no live entity. The rows' fan-out waits in the outbox, due at
 * once; after commit the relay is nudged to start it (see core/db/batch.ts for why a batch
 * does not take the immediate path).
 */
async function commit<R>(
  deps: DomainDeps,
  operatorId: string,
  kind: BatchKind,
  total: number,
  c: Collector<R>,
  write: (tx: Queryable, rows: R[]) => Promise<boolean[]>,
): Promise<BatchResult> {
  const jobId = newJobId();
  const errors = await withTransaction(deps.pool, async (tx) => {
    const written = await write(
      tx,
      c.staged.map((s) => s.row),
    );
    c.staged.forEach((s, i) => {
      if (!written[i]) c.fail(s.index, s.externalId, entityNotFound(s.externalId));
    });
    const errors = c.errors.sort((a, b) => a.index - b.index);
    await insertBatchJob(tx, {
      id: jobId,
      operatorId,
      kind,
      total,
      succeeded: total - errors.length,
      failed: errors.length,
      errors,
    });
    return errors;
  });
  if (errors.length < total) deps.dispatcher.nudge();
  return { jobId, succeeded: total - errors.length, failed: errors.length, errors };
}

export async function recordEventBatch(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  items: BatchItem<NewEvent>[],
): Promise<BatchResult> {
  const c = new Collector<{ id: string; e: NewEvent }>().stageAll(items, (e) => {
    checkEvent(template, e);
    return { id: newEventId(), e };
  });
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitEvents(deps, operatorId, items.length, c);
    } catch (err) {
      // The transaction wrote nothing (an id clash, a month without its partition): again,
      // under new ids.
      if (!(await writeEventsAgain(deps.pool, err, attempt))) throw err;
      for (const s of c.staged) s.row.id = newEventId();
    }
  }
}

function commitEvents(
  deps: DomainDeps,
  operatorId: string,
  total: number,
  c: Collector<{ id: string; e: NewEvent }>,
): Promise<BatchResult> {
  return commit(deps, operatorId, 'events', total, c, async (tx, rows) => {
    const inserted = await insertEvents(
      tx,
      operatorId,
      rows.map(({ id, e }) => ({
        id,
        externalId: e.externalId,
        eventType: e.eventType,
        data: e.data,
        plan: planParts(eventInput(operatorId, id, e)),
      })),
    );
    const ids = new Set(inserted.map((r) => r.id));
    return rows.map((r) => ids.has(r.id));
  });
}

export async function upsertEntityBatch(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  items: BatchItem<EntityInput>[],
): Promise<BatchResult> {
  const once = firstOfEach<EntityInput>(
    (e) => e.externalId,
    (e) => `externalId "${e.externalId}"`,
  );
  const c = new Collector<EntityInput>().stageAll(items, (e, index) => {
    checkEntity(template, e);
    once(e, index);
    return e;
  });
  return commit(deps, operatorId, 'entities', items.length, c, async (tx, rows) => {
    const written = await upsertEntities(
      tx,
      operatorId,
      rows.map((e) => {
        const { plain, pii } = splitPii(template, e);
        return {
          externalId: e.externalId,
          newId: newEntityId(),
          entityType: e.entityType,
          data: plain,
          pii: Object.keys(pii).length ? deps.pii.encrypt(operatorId, e.externalId, pii) : null,
          fanoutId: newFanoutId(),
        };
      }),
    );
    const ids = new Set(written.map((r) => r.externalId));
    return rows.map((e) => ids.has(e.externalId));
  });
}

export async function putStateBatch(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  items: BatchItem<StateInput>[],
): Promise<BatchResult> {
  const pairOf = (s: { externalId: string; key: string }) => JSON.stringify([s.externalId, s.key]);
  const once = firstOfEach<StateInput>(pairOf, (s) => `State "${s.key}" of externalId "${s.externalId}"`);
  const c = new Collector<StateInput>().stageAll(items, (s, index) => {
    checkStateKey(template, s.key);
    checkStateValue(s.value);
    once(s, index);
    return s;
  });
  return commit(deps, operatorId, 'states', items.length, c, async (tx, rows) => {
    const written = await putStates(
      tx,
      operatorId,
      rows.map((s) => ({ externalId: s.externalId, key: s.key, value: s.value, fanoutId: newFanoutId() })),
    );
    const pairs = new Set(written.map(pairOf));
    return rows.map((s) => pairs.has(pairOf(s)));
  });
}

export async function readBatchJob(deps: DomainDeps, operatorId: string, jobId: string) {
  const job = await getBatchJob(deps.pool, operatorId, jobId);
  if (!job) throw apiError({ code: 'NOT_FOUND', message: `No batch job ${jobId}` });
  return {
    jobId: job.id,
    kind: job.kind,
    total: job.total,
    succeeded: job.succeeded,
    failed: job.failed,
    errors: job.errors,
    createdAt: job.created_at.toISOString(),
  };
}
