-- Every re-drive or backfill the CLI starts (`fanout redrive|backfill`), registered in the same
-- transaction that starts its workflow, under an advisory lock per definition: two CLIs started
-- together over the same range cannot both pass the overlap check (Temporal's visibility list,
-- which the check used before, is eventually consistent and checking it is not atomic with the
-- start). A row is never updated: whether its re-drive still runs is asked of Temporal
-- (describe, strongly consistent), so a run that ended, was terminated or never started
-- needs no clean-up here. `GET /events/:id/fanout` also finds an event's re-runs from these
-- rows (the re-drives whose range covers the event).
create table redrives (
  id text primary key,
  workflow_id text not null,
  mode text not null check (mode in ('redrive', 'redrive-failed', 'backfill')),
  definition text not null,
  -- null: every operator's events in the range.
  operator_id text references operators (id),
  since timestamptz not null,
  until timestamptz not null check (since < until),
  created_at timestamptz not null default now()
);

create index redrives_definition_idx on redrives (definition, since);
create index redrives_operator_idx on redrives (operator_id, since);
