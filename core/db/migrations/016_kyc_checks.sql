-- The checks kyc-on-deposit created at a provider (issue 22, item 6): a provider's webhook names
-- a check (or its applicant), never our entity, so its result is mapped back through this table.
-- Written by the requestProviderCheck activity; a retried attempt finds its row (same key).
create table kyc_checks (
  operator_id text not null references operators (id),
  provider text not null,
  -- The provider's id of what its webhook names (Sumsub: the applicant; Onfido, sandbox: the check).
  check_id text not null,
  -- Our applicant reference as the provider knows it (Sumsub's externalUserId, the sandbox's applicantId).
  applicant_id text not null,
  external_id text not null,
  workflow_id text not null,
  created_at timestamptz not null default now(),
  primary key (operator_id, provider, check_id)
);
create index kyc_checks_applicant_idx on kyc_checks (operator_id, provider, applicant_id);

-- What became of an accepted result: the entity it was mapped to, why it was ignored (a check we
-- never created), and whether applyKycResult wrote it (applied_at, by which workflow, over what)
-- or found a newer result already standing (superseded_at). Set once, in the transaction that
-- writes kyc_status, so a result is applied at most once whoever applies it.
alter table provider_webhook_inbox
  add column external_id text,
  -- The check it was mapped to (kyc_checks.check_id): the `checkId` of its internal event.
  add column kyc_check_id text,
  add column ignored_reason text,
  add column applied_at timestamptz,
  add column applied_by text,
  add column applied_previous jsonb,
  add column superseded_at timestamptz;
create index provider_webhook_inbox_entity_idx on provider_webhook_inbox (operator_id, external_id, received_at)
  where external_id is not null;
