-- Every operator-owned table names its operator, so each statement on it can (docs/SCALING.md,
-- "Past one primary": distributed by operator_id, co-located with its webhook_messages row).
-- webhook_attempts was reached only through its message; it now carries the message's operator.
alter table webhook_attempts add column operator_id text;
update webhook_attempts a set operator_id = m.operator_id from webhook_messages m where m.id = a.message_row;
alter table webhook_attempts alter column operator_id set not null;
drop index webhook_attempts_message_idx;
create index webhook_attempts_message_idx on webhook_attempts (operator_id, message_row, id);
