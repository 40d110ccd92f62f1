-- A post holder's professional registration, optional: the regulator and the number, checked
-- by format, and returned only to callers who may read the placement. Never a name.
-- IF NOT EXISTS: a release carried these in an edited migration 5, so some databases have them.
ALTER TABLE placement_records ADD COLUMN IF NOT EXISTS registration_body TEXT CHECK (registration_body IN ('gmc', 'nmc', 'gphc', 'hcpc'));
ALTER TABLE placement_records ADD COLUMN IF NOT EXISTS registration_number TEXT CHECK (registration_number IS NULL OR length(registration_number) BETWEEN 5 AND 12);
-- The team of an external host (when named otherwise than its provider). Databases from the
-- first release of migration 4 lack the column.
ALTER TABLE placement_records ADD COLUMN IF NOT EXISTS host_unit TEXT CHECK (host_unit IS NULL OR length(host_unit) BETWEEN 1 AND 200);
-- A partner service's organisation code is derived in the application (one rule), not in the
-- view (the first release of migration 4 computed it here).
DROP VIEW ict_partner_services;
CREATE VIEW ict_partner_services AS
SELECT a.id, a.parent_code AS ict_code, d.name, d.service_kind AS kind,
       a.start_date, a.end_date, a.version, a.created_at, a.updated_at, a.member_code
FROM affiliations a JOIN partner_service_details d ON d.affiliation_id = a.id;
-- Placements as read, with the registration.
DROP VIEW placements;
CREATE VIEW placements AS
SELECT r.id, r.staff_ref, r.role_code, r.programme_code, r.host_type, r.host_code, r.host_unit,
       CASE WHEN r.host_type = 'external'
            THEN COALESCE(r.host_unit, (SELECT o.name FROM organisations o WHERE o.code = r.host_code)) END
           AS host_name,
       r.hours_per_week, r.start_date, r.end_date, r.funding, r.notes, r.source, r.created_by, r.version,
       r.created_at, r.updated_at, r.registration_body, r.registration_number
FROM placement_records r;
