-- KYC provider connections per operator (issue 22): at most one per operator. Credentials and
-- the webhook secret are sealed with the operator's key (core/security/pii.ts, sealSecret):
-- the database never holds them in clear.
create table provider_connections (
  id text primary key,
  operator_id text not null references operators (id),
  provider text not null check (provider in ('sumsub', 'onfido', 'sandbox')),
  -- The provider's API; null: the provider's public default (the local sandbox for 'sandbox').
  base_url text,
  -- What is not secret: Sumsub's levelName, Onfido's report names.
  settings jsonb not null default '{}',
  credentials bytea not null,
  webhook_secret bytea not null,
  -- After a rotation the old webhook secret still verifies deliveries until it expires
  -- (the provider may be resending a webhook it signed before the change).
  previous_webhook_secret bytea,
  previous_webhook_secret_expires_at timestamptz,
  created_at timestamptz not null default now(),
  rotated_at timestamptz,
  unique (operator_id)
);

-- Every delivery a provider made that passed its signature check, once per provider
-- identifiers (`dedup_key`): a redelivery finds its row and changes nothing. Connections are
-- not referenced: the inbox of a deleted connection stays the operator's record.
create table provider_webhook_inbox (
  id text primary key,
  operator_id text not null references operators (id),
  connection_id text not null,
  provider text not null,
  -- What the provider calls the event and the delivery (Sumsub `type`, Onfido `action`).
  event_type text not null,
  -- The provider's own identifiers, joined: a redelivery carries the same ones.
  dedup_key text not null,
  provider_event_id text,
  check_id text,
  applicant_id text,
  -- Our reading of the provider's answer; null when the delivery carries none (an Onfido
  -- check.completed carries only the check: its result is read from the provider).
  result text check (result in ('approved', 'rejected', 'review')),
  -- The provider's own time for the event: when two results disagree, the later one stands.
  provider_timestamp timestamptz,
  received_at timestamptz not null default now(),
  -- accepted: a result recorded; result_to_fetch: a completion whose result must be read from
  -- the provider; ignored: an event that is not a KYC result.
  outcome text not null check (outcome in ('accepted', 'result_to_fetch', 'ignored')),
  unique (connection_id, dedup_key)
);
create index provider_webhook_inbox_operator_idx on provider_webhook_inbox (operator_id, received_at desc, id desc);
