-- What each provider delivery came to, for the operator's inbox listing (GET /providers/deliveries,
-- `providers deliveries`): applied, superseded (by which delivery), ignored (when and why), or
-- still pending; and what the provider said with its result.
alter table provider_webhook_inbox
  -- The provider's reasons with its result, kept for the result's event data and its alert
  -- (Sumsub RED: rejectLabels, reviewRejectType FINAL or RETRY). No PII: labels and types only.
  add column result_details jsonb,
  -- When it was ignored: at ingestion (not a result), or later (a check we never created, a
  -- player erased before the result was applied, a connection removed before its result was read).
  add column ignored_at timestamptz,
  -- The delivery whose result stood when this one was found older (superseded_at).
  add column superseded_by text,
  -- Onfido: when the result of a `check.completed` was read back from the provider's API.
  add column result_fetched_at timestamptz;

update provider_webhook_inbox
   set ignored_at = received_at, ignored_reason = coalesce(ignored_reason, 'not_a_result')
 where outcome = 'ignored';
