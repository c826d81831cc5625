-- Listing an entity's events reads the archive too (core/db/event-listing.ts), merged with the
-- hot table in (created_at desc, id desc) order: the archive gets the hot table's two listing
-- indexes. The second also serves what events_archive_entity_idx served (its leading columns),
-- so that one goes. Built inside the migration's transaction, which blocks writes to the
-- archive (the retention sweep) while it builds; the archive is written only by that sweep.
create index events_archive_listing_idx on events_archive (operator_id, external_id, created_at desc, id desc);
create index events_archive_listing_type_idx on events_archive (operator_id, external_id, event_type, created_at desc, id desc);
drop index events_archive_entity_idx;
