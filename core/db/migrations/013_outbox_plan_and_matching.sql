-- Every outbox row carries its plan. A null plan meant a row queued before migration 005, to be
-- started as the retired `fanOut` workflow; no deployment ever had such a row, and that workflow
-- is gone, so a null plan is now refused rather than started as something no worker runs.
alter table fanout_outbox alter column definitions set not null;

-- The one SQL form of the rule by which a trigger or an endpoint's event filter matches an
-- internal event: the name itself, or a prefix ending in `*` (`*` alone matches everything).
-- workflows/definition.ts patternMatches is the same rule in TypeScript; a test compares them.
-- Immutable and a single expression, so the planner inlines it: no call per row. starts_with
-- rather than LIKE, whose `_` and `%` in a name would match other events.
create function internal_event_matches(pattern text, internal_event text) returns boolean
  language sql immutable parallel safe as $$
  select pattern = internal_event or (right(pattern, 1) = '*' and starts_with(internal_event, left(pattern, -1)))
$$;

-- Redefined on the rule above (same result as migration 008's copy of it).
create or replace function webhook_filter_matches(filter text[], internal_event text) returns boolean
  language sql immutable parallel safe as $$
  select exists (select 1 from unnest(filter) p where internal_event_matches(p, internal_event))
$$;
