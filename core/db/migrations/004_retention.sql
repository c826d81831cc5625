-- Events past their operator's hot_days, moved out of the hot table by the retention
-- schedule (see workflows/retention.ts); removed from here past archive_days.
create table events_archive (
  id text primary key,
  operator_id text not null references operators (id),
  external_id text not null,
  event_type text not null,
  data jsonb not null,
  created_at timestamptz not null,
  archived_at timestamptz not null default now()
);
create index events_archive_age_idx on events_archive (operator_id, created_at);
create index events_archive_entity_idx on events_archive (operator_id, external_id, event_type);
-- The retention sweep walks one operator's oldest events.
create index events_age_idx on events (operator_id, created_at);
