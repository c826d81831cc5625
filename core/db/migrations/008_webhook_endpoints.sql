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
  add column previous_secret_expires_at timestamptz;
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
