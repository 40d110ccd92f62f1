-- One organisation model (SQLite). See the PostgreSQL migration of the same name for the
-- why; this one differs only in spelling (GLOB for patterns, random ids made here).

CREATE TABLE organisations (
    id          TEXT NOT NULL UNIQUE,
    code        TEXT PRIMARY KEY CHECK (length(code) BETWEEN 2 AND 32 AND code GLOB '[A-Z0-9]*'
                                        AND NOT code GLOB '*[^A-Z0-9-]*'),
    kind        TEXT NOT NULL CHECK (kind IN ('practice', 'pcn', 'federation', 'ict', 'commissioner', 'external')),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      TEXT NOT NULL CHECK (status IN ('active', 'closed', 'dormant', 'proposed', 'merged',
                                                'planned', 'early_adopter', 'live')),
    opened_on   DATE,
    closed_on   DATE,
    source      TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'ods', 'demo')),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (code, kind),
    CHECK (closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on),
    CHECK (kind <> 'practice' OR (length(code) = 6 AND code GLOB '[A-Z][0-9][0-9][0-9][0-9][0-9]')),
    CHECK (kind <> 'pcn' OR (length(code) = 6 AND code GLOB 'U[0-9][0-9][0-9][0-9][0-9]'))
);
CREATE INDEX organisations_kind_code_idx ON organisations (kind, code, id);
CREATE INDEX organisations_kind_name_idx ON organisations (kind, name, id);
CREATE INDEX organisations_kind_updated_idx ON organisations (kind, updated_at, id);
CREATE INDEX organisations_name_idx ON organisations (name, id);
CREATE INDEX organisations_updated_idx ON organisations (updated_at, id);

CREATE TABLE practice_details (
    code              TEXT PRIMARY KEY REFERENCES organisations (code) ON UPDATE CASCADE ON DELETE CASCADE,
    address_lines     TEXT,
    postcode          TEXT NOT NULL CHECK (length(postcode) BETWEEN 5 AND 8),
    region_code       TEXT,
    icb_code          TEXT,
    commissioner_code TEXT,
    list_size         INTEGER CHECK (list_size >= 0),
    merged_into       TEXT REFERENCES organisations (code) ON UPDATE CASCADE,
    phone             TEXT,
    CHECK (merged_into IS NULL OR merged_into <> code)
);
CREATE INDEX practice_details_commissioner_idx ON practice_details (commissioner_code);
CREATE INDEX practice_details_postcode_idx ON practice_details (postcode);

CREATE TABLE group_details (
    code        TEXT PRIMARY KEY REFERENCES organisations (code) ON UPDATE CASCADE ON DELETE CASCADE,
    ods_code    TEXT UNIQUE,
    icb_code    TEXT,
    description TEXT
);

CREATE TABLE ict_details (
    code        TEXT PRIMARY KEY REFERENCES organisations (code) ON UPDATE CASCADE ON DELETE CASCADE,
    icb_code    TEXT,
    locality    TEXT,
    population  INTEGER CHECK (population >= 0)
);

CREATE TABLE affiliations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('member_of', 'commissioned_by', 'partner_service_of')),
    member_code TEXT NOT NULL REFERENCES organisations (code) ON UPDATE CASCADE ON DELETE CASCADE,
    parent_code TEXT NOT NULL REFERENCES organisations (code) ON UPDATE CASCADE ON DELETE CASCADE,
    start_date  DATE NOT NULL,
    end_date    DATE,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK (member_code <> parent_code)
);
CREATE INDEX affiliations_parent_idx ON affiliations (parent_code, start_date);
CREATE INDEX affiliations_member_idx ON affiliations (member_code, start_date);

CREATE TABLE partner_service_details (
    affiliation_id TEXT PRIMARY KEY REFERENCES affiliations (id) ON DELETE CASCADE,
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    service_kind   TEXT NOT NULL
                   CHECK (service_kind IN ('community', 'mental_health', 'social_care', 'voluntary', 'acute', 'other'))
);

-- ---------------------------------------------------------------------------------------
-- Carrying the data forward

INSERT INTO organisations (id, code, kind, name, status, opened_on, closed_on, source, version, created_at, updated_at)
SELECT id, ods_code, 'practice', name, status, opened_on, closed_on, source, version, created_at, updated_at
FROM practices;
INSERT INTO practice_details (code, address_lines, postcode, region_code, icb_code, commissioner_code, list_size, merged_into, phone)
SELECT ods_code, address_lines, postcode, region_code, icb_code, commissioner_code, list_size, merged_into, phone
FROM practices;

INSERT INTO organisations (id, code, kind, name, status, source, version, created_at, updated_at)
SELECT id, code, 'federation', name, 'active', source, version, created_at, updated_at FROM federations;
INSERT INTO group_details (code, ods_code, icb_code, description)
SELECT code, ods_code, icb_code, description FROM federations;

INSERT INTO organisations (id, code, kind, name, status, source, version, created_at, updated_at)
SELECT id, code, 'ict', name, status, source, version, created_at, updated_at FROM integrated_care_teams;
INSERT INTO ict_details (code, icb_code, locality, population)
SELECT code, icb_code, locality, population FROM integrated_care_teams;

-- Ids made here are random (version 4) UUIDs spelled out, SQLite having no function for
-- one; the expression is repeated so that it is evaluated for every row.
INSERT INTO organisations (id, code, kind, name, status, source, version, created_at, updated_at)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
       || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-'
       || lower(hex(randomblob(6))), c.code, 'commissioner', c.code, 'active', 'ods', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM (
    SELECT commissioner_code AS code FROM practice_commissioners
    UNION SELECT commissioner_code FROM practices WHERE commissioner_code IS NOT NULL
) c
WHERE length(c.code) BETWEEN 2 AND 32 AND c.code GLOB '[A-Z0-9]*' AND NOT c.code GLOB '*[^A-Z0-9-]*'
  AND NOT EXISTS (SELECT 1 FROM organisations o WHERE o.code = c.code);

INSERT INTO affiliations (id, kind, member_code, parent_code, start_date, end_date, version, created_at, updated_at)
SELECT id, 'member_of', ods_code, federation_code, start_date, end_date, version, created_at, updated_at
FROM federation_memberships;
INSERT INTO affiliations (id, kind, member_code, parent_code, start_date, end_date, version, created_at, updated_at)
SELECT id, 'member_of', ods_code, ict_code, start_date, end_date, version, created_at, updated_at
FROM ict_memberships;
INSERT INTO affiliations (id, kind, member_code, parent_code, start_date, end_date, version, created_at, updated_at)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
       || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-'
       || lower(hex(randomblob(6))), 'commissioned_by', pc.ods_code, pc.commissioner_code, pc.start_date, pc.end_date, 1,
       CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM practice_commissioners pc
WHERE EXISTS (SELECT 1 FROM organisations o WHERE o.code = pc.commissioner_code AND o.kind = 'commissioner');

-- External providers (see the PostgreSQL migration). An ODS code is usable when it is
-- code-shaped and not already another kind of organisation. Each free-text reference is
-- one row of external_refs, by the id of the record that made it.
CREATE TEMPORARY TABLE external_refs (ref_id TEXT PRIMARY KEY, ods TEXT, name TEXT, lname TEXT);
INSERT INTO external_refs
SELECT id,
       CASE WHEN length(external_host_code) BETWEEN 3 AND 10 AND NOT external_host_code GLOB '*[^A-Z0-9]*'
             AND NOT EXISTS (SELECT 1 FROM organisations o WHERE o.code = external_host_code AND o.kind <> 'external')
            THEN external_host_code END,
       external_host_name, lower(external_host_name)
FROM placements WHERE host_type = 'external'
UNION ALL
SELECT id,
       CASE WHEN length(organisation_code) BETWEEN 3 AND 10 AND NOT organisation_code GLOB '*[^A-Z0-9]*'
             AND NOT EXISTS (SELECT 1 FROM organisations o WHERE o.code = organisation_code AND o.kind <> 'external')
            THEN organisation_code END,
       name, lower(name)
FROM ict_partner_services;

-- The named ones: one organisation for each name, whatever its case.
CREATE TEMPORARY TABLE external_names (lname TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL);
INSERT INTO external_names (lname, code, name)
SELECT lname, 'EXT-' || upper(hex(randomblob(4))), min(name) FROM external_refs WHERE ods IS NULL GROUP BY lname;

INSERT OR IGNORE INTO organisations (id, code, kind, name, status, source, version, created_at, updated_at)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
       || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-'
       || lower(hex(randomblob(6))), code, 'external', name, 'active', 'api', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM (
    SELECT ods AS code, min(name) AS name FROM external_refs WHERE ods IS NOT NULL GROUP BY ods
    UNION ALL SELECT code, name FROM external_names
);

CREATE TEMPORARY TABLE external_of (ref_id TEXT PRIMARY KEY, code TEXT NOT NULL);
INSERT INTO external_of
SELECT r.ref_id, COALESCE(r.ods, (SELECT n.code FROM external_names n WHERE n.lname = r.lname)) FROM external_refs r;

INSERT INTO affiliations (id, kind, member_code, parent_code, start_date, end_date, version, created_at, updated_at)
SELECT s.id, 'partner_service_of', (SELECT e.code FROM external_of e WHERE e.ref_id = s.id),
       s.ict_code, s.start_date, s.end_date, s.version, s.created_at, s.updated_at
FROM ict_partner_services s;
INSERT INTO partner_service_details (affiliation_id, name, service_kind)
SELECT id, name, kind FROM ict_partner_services;

CREATE TABLE placement_records (
    id                 TEXT PRIMARY KEY,
    staff_ref          TEXT NOT NULL CHECK (length(staff_ref) BETWEEN 1 AND 64),
    role_code          TEXT NOT NULL REFERENCES roles (code) ON UPDATE CASCADE,
    programme_code     TEXT REFERENCES programmes (code) ON UPDATE CASCADE,
    host_type          TEXT NOT NULL CHECK (host_type IN ('practice', 'pcn', 'federation', 'ict', 'external')),
    host_code          TEXT NOT NULL,
    -- The part of an external host the post is in (a team), when it is named otherwise than
    -- the provider.
    host_unit          TEXT CHECK (host_unit IS NULL OR length(host_unit) BETWEEN 1 AND 200),
    hours_per_week     DOUBLE PRECISION NOT NULL CHECK (hours_per_week > 0 AND hours_per_week <= 80),
    start_date         DATE NOT NULL,
    end_date           DATE,
    funding            TEXT CHECK (funding IN ('arrs', 'programme', 'practice', 'federation', 'icb', 'trust', 'other')),
    notes              TEXT,
    source             TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'import', 'demo')),
    created_by         TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    FOREIGN KEY (host_code, host_type) REFERENCES organisations (code, kind) ON UPDATE CASCADE,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
INSERT INTO placement_records (id, staff_ref, role_code, programme_code, host_type, host_code, host_unit,
    hours_per_week, start_date, end_date, funding, notes, source, created_by, version, created_at, updated_at)
SELECT p.id, p.staff_ref, p.role_code, p.programme_code, p.host_type,
       CASE p.host_type
           WHEN 'practice' THEN p.host_practice
           WHEN 'federation' THEN p.host_federation
           WHEN 'ict' THEN p.host_ict
           ELSE (SELECT e.code FROM external_of e WHERE e.ref_id = p.id)
       END,
       CASE WHEN p.host_type = 'external' THEN p.external_host_name END,
       p.hours_per_week, p.start_date, p.end_date, p.funding, p.notes, p.source, p.created_by, p.version,
       p.created_at, p.updated_at
FROM placements p;
-- A team named as its provider is named needs no name of its own.
UPDATE placement_records SET host_unit = NULL
WHERE host_unit = (SELECT o.name FROM organisations o WHERE o.code = placement_records.host_code);
CREATE INDEX placement_records_created_idx ON placement_records (created_at, id);
CREATE INDEX placement_records_updated_idx ON placement_records (updated_at, id);
CREATE INDEX placement_records_start_idx ON placement_records (start_date, id);
CREATE INDEX placement_records_role_idx ON placement_records (role_code);
CREATE INDEX placement_records_programme_idx ON placement_records (programme_code);
CREATE INDEX placement_records_host_idx ON placement_records (host_code);
CREATE INDEX placement_records_staff_idx ON placement_records (staff_ref);

DROP TABLE external_of;
DROP TABLE external_names;
DROP TABLE external_refs;

DROP TABLE placements;
DROP TABLE ict_partner_services;
DROP TABLE ict_memberships;
DROP TABLE federation_memberships;
DROP TABLE practice_commissioners;
DROP TABLE integrated_care_teams;
DROP TABLE federations;
DROP TABLE practices;

-- ---------------------------------------------------------------------------------------
-- The records as read

CREATE VIEW practices AS
SELECT o.id, o.code AS ods_code, o.name, d.address_lines, d.postcode, d.region_code, d.icb_code,
       d.commissioner_code, d.list_size, o.status, d.merged_into, o.opened_on, o.closed_on, d.phone,
       o.source, o.version, o.created_at, o.updated_at
FROM organisations o JOIN practice_details d ON d.code = o.code;

CREATE VIEW group_organisations AS
SELECT o.id, o.code, o.kind, o.name, d.ods_code, d.icb_code, d.description, o.source, o.version,
       o.created_at, o.updated_at
FROM organisations o JOIN group_details d ON d.code = o.code;

CREATE VIEW integrated_care_teams AS
SELECT o.id, o.code, o.name, d.icb_code, d.locality, d.population, o.status, o.source, o.version,
       o.created_at, o.updated_at
FROM organisations o JOIN ict_details d ON d.code = o.code;

CREATE VIEW ict_partner_services AS
SELECT a.id, a.parent_code AS ict_code, d.name, d.service_kind AS kind,
       a.start_date, a.end_date, a.version, a.created_at, a.updated_at, a.member_code
FROM affiliations a JOIN partner_service_details d ON d.affiliation_id = a.id;

CREATE VIEW placements AS
SELECT r.id, r.staff_ref, r.role_code, r.programme_code, r.host_type, r.host_code, r.host_unit,
       CASE WHEN r.host_type = 'external'
            THEN COALESCE(r.host_unit, (SELECT o.name FROM organisations o WHERE o.code = r.host_code)) END
           AS host_name,
       r.hours_per_week, r.start_date, r.end_date, r.funding, r.notes, r.source, r.created_by, r.version,
       r.created_at, r.updated_at
FROM placement_records r;
