-- Operators (tenants) and their API keys. Keys are stored only as SHA-256.
create table operators (
  id text primary key,
  name text not null,
  mode text not null check (mode in ('live', 'test')),
  status text not null default 'active' check (status in ('active', 'suspended')),
  template_id text,
  data_retention_days integer,
  retention_policy jsonb,
  created_at timestamptz not null default now()
);

create table api_keys (
  id text primary key,
  operator_id text not null references operators (id),
  key_hash bytea not null unique,
  display_prefix text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_operator_idx on api_keys (operator_id);

-- Entities: non-PII fields in `data`, PII fields AES-256-GCM encrypted in `pii`.
create table entities (
  operator_id text not null references operators (id),
  external_id text not null,
  id text not null unique,
  entity_type text not null,
  data jsonb not null,
  pii bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  primary key (operator_id, external_id)
);

-- Events are append-only; (created_at, id) is their order for listing and keyset pagination.
create table events (
  id text primary key,
  operator_id text not null references operators (id),
  external_id text not null,
  event_type text not null,
  data jsonb not null,
  created_at timestamptz not null default clock_timestamp()
);
-- Serves "an entity's events, newest first" with and without the type filter.
create index events_entity_idx on events (operator_id, external_id, created_at desc, id desc);
create index events_entity_type_idx on events (operator_id, external_id, event_type, created_at desc, id desc);

create table entity_states (
  operator_id text not null,
  external_id text not null,
  state_key text not null,
  value jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (operator_id, external_id, state_key),
  foreign key (operator_id, external_id) references entities (operator_id, external_id)
);

-- Idempotency keys, scoped per operator, free again after `expires_at`.
create table idempotency_keys (
  operator_id text not null,
  scope text not null,
  idem_key text not null,
  request_hash text not null,
  resource_id text not null,
  response jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (operator_id, scope, idem_key)
);
create index idempotency_keys_expiry_idx on idempotency_keys (expires_at);

-- Transactional outbox: one row per workflow still to be started. Written in the same
-- transaction as the fact it fans out; deleted once Temporal has the workflow.
create table fanout_outbox (
  workflow_id text primary key,
  operator_id text not null,
  internal_event text not null,
  payload jsonb not null,
  search_attributes jsonb not null,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default clock_timestamp(),
  next_attempt_at timestamptz not null default clock_timestamp() + interval '5 seconds'
);
create index fanout_outbox_due_idx on fanout_outbox (next_attempt_at);

create table batch_jobs (
  id text primary key,
  operator_id text not null references operators (id),
  kind text not null,
  total integer not null,
  succeeded integer not null,
  failed integer not null,
  errors jsonb not null,
  created_at timestamptz not null default now()
);
create index batch_jobs_operator_idx on batch_jobs (operator_id, created_at desc);

-- Operator webhook endpoint (one per operator) for alerts and subscribed internal events.
create table webhook_endpoints (
  operator_id text primary key references operators (id),
  url text not null,
  secret text not null,
  event_filter text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
