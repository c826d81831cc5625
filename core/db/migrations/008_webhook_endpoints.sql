-- Several webhook endpoints per operator (issue 14). The table keeps its name and rows: each
-- existing endpoint becomes the operator's "shorthand" endpoint, the one PUT /webhooks manages.
alter table webhook_endpoints drop constraint webhook_endpoints_pkey;
alter table webhook_endpoints
  add column id text,
  add column description text not null default '',
  add column enabled boolean not null default true,
  add column shorthand boolean not null default false,
  -- After a rotation the old secret signs too, until it expires (two signatures meanwhile).
  add column previous_secret text,
  add column previous_secret_expires_at timestamptz,
  -- Since when every delivery to the endpoint has failed (null once one succeeds); an
  -- endpoint failing for WEBHOOK_AUTO_DISABLE_AFTER_MS is disabled with the reason 'failing'.
  add column failing_since timestamptz,
  add column disabled_reason text,
  -- At most this many deliveries per second to the endpoint (null: no limit).
  add column rate_limit_per_second integer check (rate_limit_per_second between 1 and 1000);
update webhook_endpoints
   set id = 'wep_' || left(md5(operator_id || clock_timestamp()::text || random()::text), 16),
       shorthand = true;
alter table webhook_endpoints alter column id set not null, add primary key (id);
create index webhook_endpoints_operator_idx on webhook_endpoints (operator_id, created_at, id);
create unique index webhook_endpoints_shorthand_idx on webhook_endpoints (operator_id) where shorthand;

-- An event filter matches an internal event when it holds it, `*`, or a prefix pattern `a.*`.
create function webhook_filter_matches(filter text[], internal_event text) returns boolean
  language sql immutable parallel safe as $$
  select exists (
    select 1 from unnest(filter) p
     where p = internal_event or (right(p, 1) = '*' and starts_with(internal_event, left(p, -1))))
$$;

-- Redefined: an event is forwarded when any ENABLED endpoint of the operator subscribes.
create or replace function fanout_subscribed(op text, internal_event text) returns boolean
  language sql stable parallel safe as $$
  select exists (
    select 1 from webhook_endpoints w
     where w.operator_id = op and w.enabled and webhook_filter_matches(w.event_filter, internal_event))
$$;

-- The delivery log: one row per (endpoint, message), one per attempt. Endpoints are not
-- referenced: the log of a deleted endpoint stays until retention prunes it.
create table webhook_messages (
  id text primary key,
  operator_id text not null references operators (id),
  endpoint_id text not null,
  message_id text not null,
  event_type text not null,
  -- The body as first sent, as text so a resend sends the same bytes (forwarded payloads
  -- carry no PII fields).
  payload text not null,
  status text not null check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  last_status_code integer,
  next_attempt_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (endpoint_id, message_id)
);
create index webhook_messages_operator_idx on webhook_messages (operator_id, created_at desc, id desc);
create index webhook_messages_created_idx on webhook_messages (created_at);

-- `attempt` counts per delivery run: a resend starts again at 1.
create table webhook_attempts (
  id bigint generated always as identity primary key,
  message_row text not null references webhook_messages (id) on delete cascade,
  attempt integer not null,
  status_code integer,
  duration_ms integer not null,
  response_excerpt text,
  error text,
  next_attempt_at timestamptz,
  attempted_at timestamptz not null default now()
);
create index webhook_attempts_message_idx on webhook_attempts (message_row, id);

-- The per-endpoint throttle's current one-second window (core/db/webhook-throttle.ts).
create table webhook_endpoint_rate (
  endpoint_id text primary key,
  window_start timestamptz not null,
  sent integer not null
);
