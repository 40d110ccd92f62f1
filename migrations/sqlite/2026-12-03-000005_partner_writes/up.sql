-- The Idempotency-Key of every POST, per token subject, in the database so that every
-- replica sees it: a retry gets the first answer wherever it lands. A request being run
-- holds its key by `claim` (status NULL); its answer is written in the same transaction as
-- its write, so the write and the record of it commit together or not at all.
CREATE TABLE idempotency_keys (
    subject TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    claim TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    status INTEGER,
    headers TEXT,
    body TEXT,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (subject, idempotency_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- A batch matches its rows to the placements its staff references already have.
CREATE INDEX placement_records_staff_ref ON placement_records (staff_ref);

-- The audit trail records denied writes too (401 with a verifiable subject, 403, and 404
-- from organisation scope), and the request each came from. Earlier rows were all accepted.
ALTER TABLE audit_events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'accepted';
ALTER TABLE audit_events ADD COLUMN request_id TEXT;

-- A post holder's professional registration, optional: the regulator and the number, checked
-- by format, and returned only to callers who may read the placement. Never a name.
ALTER TABLE placement_records ADD COLUMN registration_body TEXT CHECK (registration_body IN ('gmc', 'nmc', 'gphc', 'hcpc'));
ALTER TABLE placement_records ADD COLUMN registration_number TEXT CHECK (registration_number IS NULL OR length(registration_number) BETWEEN 5 AND 12);
-- The team of an external host (when named otherwise than its provider), kept beside the
-- provider. Databases from the release that first had migration 4 lack the column.
-- (SQLite has no ADD COLUMN IF NOT EXISTS: `Db::migrate` adds `host_unit` before this
-- migration where it is missing.)
-- A partner service's organisation code is derived in the application (one rule), not here.
DROP VIEW ict_partner_services;
CREATE VIEW ict_partner_services AS
SELECT a.id, a.parent_code AS ict_code, d.name, d.service_kind AS kind,
       a.start_date, a.end_date, a.version, a.created_at, a.updated_at, a.member_code
FROM affiliations a JOIN partner_service_details d ON d.affiliation_id = a.id;
DROP VIEW placements;
CREATE VIEW placements AS
SELECT r.id, r.staff_ref, r.role_code, r.programme_code, r.host_type, r.host_code, r.host_unit,
       CASE WHEN r.host_type = 'external'
            THEN COALESCE(r.host_unit, (SELECT o.name FROM organisations o WHERE o.code = r.host_code)) END
           AS host_name,
       r.hours_per_week, r.start_date, r.end_date, r.funding, r.notes, r.source, r.created_by, r.version,
       r.created_at, r.updated_at, r.registration_body, r.registration_number
FROM placement_records r;
