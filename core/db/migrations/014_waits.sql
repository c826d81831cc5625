-- Waits: a definition inside an event's workflow waiting for a later internal event of the
-- same entity (ctx.waitFor). The design and its proof are in core/db/waits.ts; in short:
--   * the workflow registers its wait here (openWait activity), then, in a later statement,
--     reads what was recorded since its own event (the lookback);
--   * an internal event is matched against the open waits only after it committed, in the
--     statement that takes its outbox row out (settleOutbox), which queues one wait_signals
--     row per (workflow, event);
--   * a wait committed before that statement is seen by it; one committed after it sees the
--     event in its lookback. Both may happen: the workflow keeps one copy per event key.

-- One open wait. Deleted when the wait ends (closeWait) or its workflow is found closed.
create table entity_waits (
  workflow_id text not null,
  -- '<definition>/<n>': deterministic within the workflow, so a retried openWait is the same row.
  wait_id text not null,
  operator_id text not null,
  external_id text not null,
  definition text not null,
  -- Exact internal event names it listens for: its own, its definition's cancelOn, entity.deleted.
  internal_events text[] not null,
  -- Only events after this position count: the triggering event's (created_at, id).
  after_at timestamptz not null,
  after_id text not null,
  label text not null,
  deadline timestamptz,
  opened_at timestamptz not null default clock_timestamp(),
  primary key (workflow_id, wait_id)
);
create index entity_waits_entity_idx on entity_waits (operator_id, external_id);
create index entity_waits_deadline_idx on entity_waits (operator_id, deadline);

-- Internal events matched to an open wait, to be signalled to its workflow: at most one row per
-- (workflow, event), sent with a request id derived from both (Temporal drops a repeat).
create table wait_signals (
  workflow_id text not null,
  event_key text not null,
  operator_id text not null,
  payload jsonb not null,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default clock_timestamp(),
  -- The immediate path sends it at once; the relay picks it up after this grace.
  next_attempt_at timestamptz not null default clock_timestamp() + interval '5 seconds',
  primary key (workflow_id, event_key)
);
create index wait_signals_due_idx on wait_signals (next_attempt_at);

-- The id of the write that set a state's current value: a wait's lookback names the update
-- exactly as its outbox row does (entity_state.updated.<key>:<update_id>), so the workflow
-- recognises one update reaching it both ways.
alter table entity_states add column update_id text;

-- Internal events that start no workflow (a state write nothing plans) still pass through the
-- outbox, so that they are matched against waits after commit like every other.
alter table fanout_outbox add column start boolean not null default true;
