DROP INDEX placement_records_staff_ref;
DROP TABLE idempotency_keys;
