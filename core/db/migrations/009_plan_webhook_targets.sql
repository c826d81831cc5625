-- The plan also fixes where an event's webhooks go: the operator's enabled endpoints whose
-- filter matches the event (forwarded) and all its enabled endpoints (alerts), as of the
-- recording transaction. The event's workflow then needs no lookup activity (one Temporal
-- Action less per webhook); workflows without targets in their input look them up as before.
create function webhook_targets(op text, internal_event text) returns jsonb
  language sql stable parallel safe as $$
  select jsonb_build_object(
           'forward', coalesce(jsonb_agg(w.id order by w.created_at, w.id)
                                 filter (where webhook_filter_matches(w.event_filter, internal_event)), '[]'::jsonb),
           'alert', coalesce(jsonb_agg(w.id order by w.created_at, w.id), '[]'::jsonb))
    from webhook_endpoints w
   where w.operator_id = op and w.enabled
$$;
