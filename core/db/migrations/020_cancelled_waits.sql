-- A wait ended by one of its definition's cancelOn events or the entity's erasure: what ended it.
-- Written by closeWait in the statement that deletes the wait (core/db/waits.ts). The workflow's
-- history has no mark of a cancellation until its result, so while the workflow still runs its
-- other definitions, GET /events/:id/fanout reads the cancellation here (without it, the
-- definition read as completed). Pruned with the operator's hot events (activities/retention.ts).
create table cancelled_waits (
  operator_id text not null,
  workflow_id text not null,
  definition text not null,
  internal_event text not null,
  event_id text,
  -- The cancelling event's own time (recorded), and when the wait closed on it.
  event_at timestamptz not null,
  closed_at timestamptz not null default now(),
  primary key (operator_id, workflow_id, definition)
);
create index cancelled_waits_closed on cancelled_waits (operator_id, closed_at);
