-- Every outbox row carries its plan. A null plan meant a row queued before migration 005, to be
-- started as the retired `fanOut` workflow; no deployment ever had such a row, and that workflow
-- is gone, so a null plan is now refused rather than started as something no worker runs.
alter table fanout_outbox alter column definitions set not null;
