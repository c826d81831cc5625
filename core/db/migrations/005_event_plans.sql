-- The fan-out's new shape (workflow `processEvent`): each outbox row carries its plan, the
-- definitions its workflow will run, fixed in the recording statement. Rows written before
-- this migration keep a null plan and are started as the retired `fanOut` workflow, which
-- decides its children itself; nothing queued is lost or changed by the upgrade.
alter table fanout_outbox add column definitions text[];

-- Whether the operator's webhook endpoint subscribes to an internal event: an exact pattern,
-- or a prefix ending in `*` (as triggerMatches in workflows/definition.ts).
create function fanout_subscribed(op text, internal_event text) returns boolean
  language sql stable parallel safe as $$
  select exists (
    select 1 from webhook_endpoints w, unnest(w.event_filter) p
     where w.operator_id = op
       and (p = internal_event or (right(p, 1) = '*' and starts_with(internal_event, left(p, -1)))))
$$;

-- The relay takes due rows operator by operator (leaseDueStarts), so one operator's backlog
-- does not queue everyone else's events behind it.
create index fanout_outbox_operator_due_idx on fanout_outbox (operator_id, next_attempt_at);
