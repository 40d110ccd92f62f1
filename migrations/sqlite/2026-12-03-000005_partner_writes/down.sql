ALTER TABLE audit_events DROP COLUMN request_id;
ALTER TABLE audit_events DROP COLUMN outcome;
DROP INDEX placement_records_staff_ref;
DROP TABLE idempotency_keys;
