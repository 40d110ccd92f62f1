CREATE INDEX placement_records_host_idx ON placement_records (host_code);
DROP INDEX placement_records_host_created_idx;
CREATE INDEX placement_records_role_idx ON placement_records (role_code);
DROP INDEX placement_records_role_created_idx;
CREATE INDEX practice_details_commissioner_idx ON practice_details (commissioner_code);
DROP INDEX practice_details_commissioner_code_idx;
