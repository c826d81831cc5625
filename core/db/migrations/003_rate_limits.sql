-- Per-operator request budget per fixed one-minute window, shared by all API processes.
-- Processes lease small chunks of it (not one row update per request).
create table rate_limit_windows (
  operator_id text not null,
  window_start timestamptz not null,
  count integer not null,
  -- The size of the most recent grant; lets one statement both grant and report.
  last_grant integer not null,
  primary key (operator_id, window_start)
);

-- Per-operator override of the configured default (RATE_LIMIT_PER_MINUTE); null = default.
alter table operators add column rate_limit_per_minute integer check (rate_limit_per_minute is null or rate_limit_per_minute >= 0);
