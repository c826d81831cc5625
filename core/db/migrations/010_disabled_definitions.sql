-- An operator may switch built-in definitions off (PUT /workflows, or the CLI's
-- `operators workflow-settings`): `disabledDefinitions` in its newest settings version
-- (migration 007). A switched-off definition is left out of the plan in the recording
-- statement itself, so it is not in the workflow's input nor its `Definitions`, and costs no
-- Action; a plan already recorded is never changed. Callers apply this only to a non-empty
-- plan (planWithSubscription in core/fanout/plan.ts): a game round with nothing planned pays
-- for no lookup. The newest version, not the one "in force at" a time: the recording
-- transaction sees exactly the versions committed before it, and an event is recorded now.
create function fanout_enabled_plan(op text, plan text[]) returns text[]
  language sql stable parallel safe as $$
  select coalesce(
           (select array(select p.name
                           from unnest(plan) with ordinality as p(name, ord)
                          where not coalesce(s.settings->'disabledDefinitions' ? p.name, false)
                          order by p.ord)
              from operator_workflow_settings s
             where s.operator_id = op
             order by s.valid_from desc
             limit 1),
           plan)
$$;
