DROP INDEX audit_events_seq_idx;
ALTER TABLE audit_events DROP COLUMN entity_version;
ALTER TABLE audit_events DROP COLUMN entity_key;
ALTER TABLE audit_events DROP COLUMN seq;
