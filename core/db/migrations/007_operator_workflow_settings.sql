-- Per-operator parameters of the built-in definitions (KYC deposit threshold, AML thresholds,
-- affordability threshold and window). Versions, never updated in place: an activity reads the
-- version in force when its event was recorded, so a change never alters how an event already
-- recorded is judged, however late (a retry, a re-drive) its activity runs.
create table operator_workflow_settings (
  operator_id text not null references operators (id),
  valid_from timestamptz not null default clock_timestamp(),
  settings jsonb not null,
  primary key (operator_id, valid_from)
);
