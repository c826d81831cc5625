import { BATCH_LIMITS } from '../../core/domain/batch';
import { insertEvents, type BatchEventRow } from '../../core/db/batch';
import { withTransaction, type Db, type Queryable } from '../../core/db/pool';
import { planParts, type PlanParts } from '../../core/fanout/plan';
import { newEventId } from '../../core/ids';
import type { FanoutInput } from '../../workflows/types';

/**
 * The plan the product's own planner gives `input`, less one definition: what the recording
 * statement of an API build that did not yet have that definition wrote for the event.
 */
export function planWithout(definition: string, input: FanoutInput): PlanParts {
  const plan = planParts(input);
  return {
    always: plan.always.filter((name) => name !== definition),
    ifSubscribed: plan.ifSubscribed.filter((name) => name !== definition),
  };
}

/**
 * The i-th seeded withdrawal. All stay under the default AML threshold (2,000), so a backfilled
 * `aml-threshold` run is its start and one activity, the common case of a new rule.
 */
export function withdrawal(i: number): Record<string, unknown> {
  return {
    type: 'withdrawal',
    amount: 10 + (i % 490),
    currency: 'GBP',
    method: 'card',
    reference: `wd_${i}`,
  };
}

/**
 * Past `transaction` withdrawals that `definition` did not run for, recorded in the hour from
 * `since` by an API that did not have it yet; answers their ids.
 *
 * Why this way: a backfill selects events its trigger and condition match now, whose own
 * workflow exists and did not plan the definition (activities/redrive.ts). A plan is fixed at
 * recording from the definitions the API knows, and conditions see only the immutable event,
 * so through today's API every matching event plans the definition and nothing is left to
 * backfill. What leaves such events in production is an older API without the definition; we
 * write them as it did: the product's batch statement (insertEvents: events, outbox rows due at
 * once) with the product's plan less that definition. The API's relay then starts their
 * workflows (empty plans here), and only after those exist is anything backfilled.
 */
export async function seedHistory(
  pool: Db,
  o: { operatorId: string; players: string[]; count: number; without: string; since: Date },
): Promise<string[]> {
  const ids: string[] = [];
  const stepMs = HISTORY_MS / o.count;
  for (let from = 0; from < o.count; from += BATCH_LIMITS.events) {
    const rows: BatchEventRow[] = [];
    for (let i = from; i < Math.min(o.count, from + BATCH_LIMITS.events); i++) {
      const id = newEventId();
      const externalId = o.players[i % o.players.length]!;
      const data = withdrawal(i);
      const input: FanoutInput = {
        internalEvent: 'entity_event.transaction',
        operatorId: o.operatorId,
        externalId,
        eventId: id,
        eventType: 'transaction',
        data,
        occurredAt: '',
      };
      rows.push({ id, externalId, eventType: 'transaction', data, plan: planWithout(o.without, input) });
    }
    // One transaction: the relay never sees these rows at their insert time.
    await withTransaction(pool, async (tx) => {
      const written = await insertEvents(tx, o.operatorId, rows);
      if (written.length !== rows.length)
        throw new Error(`seeding history: ${written.length} of ${rows.length} events written`);
      await backdate(
        tx,
        rows.map((r) => r.id),
        new Date(o.since.getTime() + from * stepMs),
        stepMs,
      );
    });
    ids.push(...rows.map((r) => r.id));
  }
  return ids;
}

/** The span of the seeded history: an hour (10,000 events: 7 every 2.5 s). */
const HISTORY_MS = 3_600_000;

/**
 * Events per millisecond in the seeded history, microseconds apart, as a batch writes them. Not
 * a divisor of the backfill's page size (50), so pages end inside a millisecond: the case that
 * once made the keyset skip and repeat events (fixed: core/db/redrive-events.ts).
 */
const PER_MILLISECOND = 7;

/**
 * Moves just-written events (and their outbox rows' occurredAt) back to when they happened:
 * from `start`, clumps of PER_MILLISECOND events `stepMs × PER_MILLISECOND` apart.
 */
async function backdate(tx: Queryable, ids: string[], start: Date, stepMs: number): Promise<void> {
  await tx.query(
    `update events e
        set created_at = $2::timestamptz
                         + make_interval(secs => ((t.ord - 1) / $4) * $4 * $3::float8 / 1000)
                         + ((t.ord - 1) % $4) * interval '1 microsecond'
       from unnest($1::text[]) with ordinality as t(id, ord)
      where e.id = t.id`,
    [ids, start.toISOString(), stepMs, PER_MILLISECOND],
  );
  await tx.query(
    `update fanout_outbox o
        set payload = jsonb_set(o.payload, '{occurredAt}',
                                to_jsonb(to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
       from events e
      where e.id = any($1::text[]) and o.workflow_id = 'entity_event.transaction:' || e.id`,
    [ids],
  );
}
