DROP VIEW placements;
CREATE VIEW placements AS
SELECT r.id, r.staff_ref, r.role_code, r.programme_code, r.host_type, r.host_code, r.host_unit,
       CASE WHEN r.host_type = 'external'
            THEN COALESCE(r.host_unit, (SELECT o.name FROM organisations o WHERE o.code = r.host_code)) END
           AS host_name,
       r.hours_per_week, r.start_date, r.end_date, r.funding, r.notes, r.source, r.created_by, r.version,
       r.created_at, r.updated_at
FROM placement_records r;
ALTER TABLE placement_records DROP COLUMN registration_number;
ALTER TABLE placement_records DROP COLUMN registration_body;
