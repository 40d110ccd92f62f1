-- Migration 5 indexed placement_records (staff_ref) as placement_records_staff_ref, which
-- migration 4 had already done as placement_records_staff_idx: every placement written
-- kept both up to date for nothing. The older one stays.
DROP INDEX placement_records_staff_ref;
