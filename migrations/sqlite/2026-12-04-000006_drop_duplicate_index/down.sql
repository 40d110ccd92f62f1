CREATE INDEX placement_records_staff_ref ON placement_records (staff_ref);
