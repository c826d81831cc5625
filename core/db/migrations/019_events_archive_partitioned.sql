-- events_archive partitioned like events (migration 018), on the same UTC months, with the
-- same columns: retention then moves a whole month whose events every operator present has
-- archived by detaching it from events and attaching it here (catalog work, no row copied), and
-- drops a month every operator present has purged (core/db/partitions.ts).
--
-- archived_at goes: nothing read it, and a partition moving between the two tables must have
-- exactly the parent's columns. The archive as it was becomes its first partition (before this
-- month); month partitions are made when retention first needs one (ensure_month_partition).
alter table events_archive rename to events_archive_legacy;
alter table events_archive_legacy drop column archived_at;
alter index events_archive_pkey rename to events_archive_legacy_pkey;
alter index events_archive_age_idx rename to events_archive_legacy_age_idx;
alter index events_archive_listing_idx rename to events_archive_legacy_listing_idx;
alter index events_archive_listing_type_idx rename to events_archive_legacy_listing_type_idx;
alter table events_archive_legacy rename constraint events_archive_operator_id_fkey
  to events_archive_legacy_operator_id_fkey;

create table events_archive (
  id text not null,
  operator_id text not null references operators (id),
  external_id text not null,
  event_type text not null,
  data jsonb not null,
  created_at timestamptz not null default clock_timestamp()
) partition by range (created_at);
-- Index for index the same as events' (an events partition brings its own when it moves here).
create index events_archive_listing_idx on events_archive (operator_id, external_id, created_at desc, id desc);
create index events_archive_listing_type_idx on events_archive (operator_id, external_id, event_type, created_at desc, id desc);
create index events_archive_age_idx on events_archive (operator_id, created_at);

-- The same cutover as events' first partition; a live deployment validated the archive's
-- constraint beforehand too (docs/SCALING.md).
do $$
declare
  cutover timestamptz := (select (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
                            from pg_class c where c.relname = 'events_legacy');
begin
  if not exists (select 1 from pg_constraint where conrelid = 'events_archive_legacy'::regclass
                    and conname = 'events_archive_partition_cutover' and convalidated) then
    execute format('alter table events_archive_legacy add constraint events_archive_partition_cutover check (created_at < %L)', cutover);
  end if;
  execute format('alter table events_archive attach partition events_archive_legacy for values from (minvalue) to (%L)', cutover);
end $$;
