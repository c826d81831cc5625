-- Issue 14, auto-disable: messages for an endpoint disabled automatically (disabled_reason
-- 'failing') are kept as failed in the delivery log, so `recover` can bring them back once the
-- endpoint is enabled again. Such an endpoint therefore still counts as a target when an event is
-- recorded (its delivery logs the message as failed and sends nothing). An endpoint disabled by
-- hand (disabled_reason null) is not a target: the operator asked for nothing to be sent.
create function webhook_endpoint_keeps_messages(enabled boolean, disabled_reason text) returns boolean
  language sql immutable parallel safe as $$
  select enabled or disabled_reason = 'failing'
$$;

create or replace function fanout_subscribed(op text, internal_event text) returns boolean
  language sql stable parallel safe as $$
  select exists (
    select 1 from webhook_endpoints w
     where w.operator_id = op and webhook_endpoint_keeps_messages(w.enabled, w.disabled_reason)
       and webhook_filter_matches(w.event_filter, internal_event))
$$;

create or replace function webhook_targets(op text, internal_event text) returns jsonb
  language sql stable parallel safe as $$
  select jsonb_build_object(
           'forward', coalesce(jsonb_agg(w.id order by w.created_at, w.id)
                                 filter (where webhook_filter_matches(w.event_filter, internal_event)), '[]'::jsonb),
           'alert', coalesce(jsonb_agg(w.id order by w.created_at, w.id), '[]'::jsonb))
    from webhook_endpoints w
   where w.operator_id = op and webhook_endpoint_keeps_messages(w.enabled, w.disabled_reason)
$$;
