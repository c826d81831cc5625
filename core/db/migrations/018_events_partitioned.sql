-- Events partitioned by month on created_at (docs/SCALING.md, "Time partitions").
--
-- The table as it was becomes the first partition, covering everything before this month
-- (FROM MINVALUE): the same steps as the live-deployment path in docs/SCALING.md, here in one
-- transaction because nothing has been released yet (test/core/db/partition-migration.test.ts
-- runs the live path, with its concurrent index build and brief locks, on a populated table).
-- Months from this one on get partitions of their own, created ahead of need by
-- ensure_event_partitions (the `event-partitions` schedule, worker/partition-schedule.ts).
--
-- Keys: a unique index on a partitioned table must hold the partition key, so the parent has
-- none on id. Each partition carries its own unique index on id (the first one keeps its
-- primary key): an id is unique within its month, and a lookup by id probes one small index per
-- live partition (retention bounds how many there are). Idempotency never depended on events'
-- keys: it is idempotency_keys (unpartitioned, rows expire after 24 h), unchanged.
alter table events rename to events_legacy;
alter index events_pkey rename to events_legacy_pkey;
alter index events_entity_idx rename to events_legacy_entity_idx;
alter index events_entity_type_idx rename to events_legacy_entity_type_idx;
alter index events_age_idx rename to events_legacy_age_idx;
alter table events_legacy rename constraint events_operator_id_fkey to events_legacy_operator_id_fkey;

create table events (
  id text not null,
  operator_id text not null references operators (id),
  external_id text not null,
  event_type text not null,
  data jsonb not null,
  created_at timestamptz not null default clock_timestamp()
) partition by range (created_at);
-- The same three indexes as before, now partitioned: attaching a partition that already has
-- an equal index adopts it instead of building one.
create index events_entity_idx on events (operator_id, external_id, created_at desc, id desc);
create index events_entity_type_idx on events (operator_id, external_id, event_type, created_at desc, id desc);
create index events_age_idx on events (operator_id, created_at);

-- The first day of t's month, UTC (partition bounds are UTC months whatever the session's zone).
create function utc_month(t timestamptz) returns timestamptz language sql immutable as
  $$ select date_trunc('month', t at time zone 'UTC') at time zone 'UTC' $$;

-- Creates parent's partition for the month holding `t` (named <parent>_pYYYY_MM) unless one
-- covers it already; true when it made one. Created apart, then attached: CREATE TABLE …
-- PARTITION OF would lock the parent ACCESS EXCLUSIVE, ATTACH takes SHARE UPDATE EXCLUSIVE,
-- which reads and inserts do not wait for. The bound as a CHECK constraint lets a later
-- ATTACH (retention moves a whole month to events_archive) skip its validating scan.
create function ensure_month_partition(parent text, t timestamptz) returns boolean language plpgsql as $$
declare
  lo timestamptz := utc_month(t);
  hi timestamptz := (date_trunc('month', t at time zone 'UTC') + interval '1 month') at time zone 'UTC';
  part text := parent || '_p' || to_char(lo at time zone 'UTC', 'YYYY_MM');
begin
  perform pg_advisory_xact_lock(hashtext('month-partitions:' || parent));
  if exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
              where i.inhparent = parent::regclass
                and c.relname !~ '_p\d{4}_\d{2}$'
                and lo < (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz)
     or exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = parent::regclass and c.relname = part) then
    return false; -- the first partition (before partitioning) or this month's own covers it
  end if;
  execute format('create table %I (like %I including defaults)', part, parent);
  execute format('alter table %I add constraint %I check (created_at >= %L and created_at < %L)',
                 part, part || '_bound', lo, hi);
  execute format('create unique index %I on %I (id)', part || '_id', part);
  execute format('alter table %I attach partition %I for values from (%L) to (%L)', parent, part, lo, hi);
  return true;
end $$;

-- This month's events partition and the next `months_ahead` months'; how many it created.
create function ensure_event_partitions(months_ahead int) returns int language plpgsql as $$
declare
  made int := 0;
begin
  for m in 0..months_ahead loop
    if ensure_month_partition('events', clock_timestamp() + make_interval(months => m)) then
      made := made + 1;
    end if;
  end loop;
  return made;
end $$;

-- The first partition's bound. A live deployment adds and validates it beforehand
-- (docs/SCALING.md: NOT VALID, then VALIDATE, which scans without blocking writes), naming a
-- future month start; then it is only read here, and the attach needs no scan. Otherwise it
-- is added now (a scan under this transaction's lock: fine for a table nothing has filled),
-- at this month's start, or the next month's if the table already holds events of this month
-- (a local stack used earlier in the month): its rows keep going to the first partition until then.
do $$
declare
  pre text := (select pg_get_constraintdef(oid) from pg_constraint
                where conrelid = 'events_legacy'::regclass and conname = 'events_partition_cutover' and convalidated);
  cutover timestamptz := coalesce(
    (regexp_match(pre, '< ''([^'']+)'''))[1]::timestamptz,
    greatest(utc_month(now()), (select utc_month(max(created_at)) + interval '1 month' from events_legacy)));
begin
  if pre is null then
    execute format('alter table events_legacy add constraint events_partition_cutover check (created_at < %L)', cutover);
  end if;
  execute format('alter table events attach partition events_legacy for values from (minvalue) to (%L)', cutover);
end $$;

select ensure_event_partitions(3);
