-- Core schema of the primary care roles API (SQLite).
-- Ids are UUIDs held as text so one Diesel schema serves PostgreSQL and SQLite alike.
-- Timestamps are UTC without zone (Diesel's Timestamp on both backends).

CREATE TABLE practices (
    id                TEXT PRIMARY KEY,
    ods_code          TEXT NOT NULL UNIQUE CHECK (length(ods_code) = 6 AND ods_code GLOB '[A-Z][0-9][0-9][0-9][0-9][0-9]'),
    name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address_lines     TEXT,
    postcode          TEXT NOT NULL CHECK (length(postcode) BETWEEN 5 AND 8),
    region_code       TEXT,
    icb_code          TEXT,
    commissioner_code TEXT,
    list_size         INTEGER CHECK (list_size >= 0),
    status            TEXT NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'closed', 'dormant', 'proposed', 'merged')),
    merged_into       TEXT REFERENCES practices (ods_code) ON UPDATE CASCADE,
    opened_on         DATE,
    closed_on         DATE,
    phone             TEXT,
    source            TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'ods', 'demo')),
    version           INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    CHECK (closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on),
    CHECK (status <> 'merged' OR merged_into IS NOT NULL),
    CHECK (merged_into IS NULL OR merged_into <> ods_code)
);
CREATE INDEX practices_name_idx ON practices (name, id);
CREATE INDEX practices_commissioner_idx ON practices (commissioner_code);
CREATE INDEX practices_postcode_idx ON practices (postcode);
CREATE INDEX practices_updated_idx ON practices (updated_at, id);

CREATE TABLE practice_commissioners (
    ods_code          TEXT NOT NULL REFERENCES practices (ods_code) ON UPDATE CASCADE ON DELETE CASCADE,
    commissioner_code TEXT NOT NULL,
    start_date        DATE NOT NULL,
    end_date          DATE,
    PRIMARY KEY (ods_code, commissioner_code, start_date),
    CHECK (end_date IS NULL OR end_date >= start_date)
);

CREATE TABLE federations (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 32 AND code NOT GLOB '*[^A-Z0-9-]*' AND code NOT GLOB '-*'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    ods_code    TEXT UNIQUE,
    icb_code    TEXT,
    description TEXT,
    source      TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'ods', 'demo')),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX federations_name_idx ON federations (name, id);
CREATE INDEX federations_updated_idx ON federations (updated_at, id);

CREATE TABLE integrated_care_teams (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 32 AND code NOT GLOB '*[^A-Z0-9-]*' AND code NOT GLOB '-*'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    icb_code    TEXT,
    locality    TEXT,
    population  INTEGER CHECK (population >= 0),
    status      TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'early_adopter', 'live')),
    source      TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'ods', 'demo')),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX icts_name_idx ON integrated_care_teams (name, id);
CREATE INDEX icts_updated_idx ON integrated_care_teams (updated_at, id);

CREATE TABLE federation_memberships (
    id            TEXT PRIMARY KEY,
    federation_code TEXT NOT NULL REFERENCES federations (code) ON UPDATE CASCADE ON DELETE CASCADE,
    ods_code      TEXT NOT NULL REFERENCES practices (ods_code) ON UPDATE CASCADE ON DELETE CASCADE,
    start_date    DATE NOT NULL,
    end_date      DATE,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (federation_code, ods_code, start_date),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX federation_memberships_practice_idx ON federation_memberships (ods_code);

CREATE TABLE ict_memberships (
    id          TEXT PRIMARY KEY,
    ict_code    TEXT NOT NULL REFERENCES integrated_care_teams (code) ON UPDATE CASCADE ON DELETE CASCADE,
    ods_code    TEXT NOT NULL REFERENCES practices (ods_code) ON UPDATE CASCADE ON DELETE CASCADE,
    start_date  DATE NOT NULL,
    end_date    DATE,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (ict_code, ods_code, start_date),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX ict_memberships_practice_idx ON ict_memberships (ods_code);

CREATE TABLE ict_partner_services (
    id                TEXT PRIMARY KEY,
    ict_code          TEXT NOT NULL REFERENCES integrated_care_teams (code) ON UPDATE CASCADE ON DELETE CASCADE,
    name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind              TEXT NOT NULL
                      CHECK (kind IN ('community', 'mental_health', 'social_care', 'voluntary', 'acute', 'other')),
    organisation_code TEXT,
    start_date        DATE NOT NULL,
    end_date          DATE,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX ict_partner_services_ict_idx ON ict_partner_services (ict_code);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 64 AND code NOT GLOB '*[^a-z0-9-]*' AND code NOT GLOB '-*'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    staff_group TEXT NOT NULL CHECK (staff_group IN ('gp', 'nurse', 'direct_patient_care', 'admin')),
    regulator   TEXT NOT NULL CHECK (regulator IN ('GMC', 'NMC', 'HCPC', 'GPhC', 'none')),
    additional_roles BOOLEAN NOT NULL DEFAULT 0,
    description TEXT,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE programmes (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 64 AND code NOT GLOB '*[^a-z0-9-]*' AND code NOT GLOB '-*'),
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    TEXT,
    target_count   INTEGER CHECK (target_count > 0),
    target_role    TEXT REFERENCES roles (code) ON UPDATE CASCADE,
    version        INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE placements (
    id                 TEXT PRIMARY KEY,
    staff_ref          TEXT NOT NULL CHECK (length(staff_ref) BETWEEN 1 AND 64),
    role_code          TEXT NOT NULL REFERENCES roles (code) ON UPDATE CASCADE,
    programme_code     TEXT REFERENCES programmes (code) ON UPDATE CASCADE,
    host_type          TEXT NOT NULL CHECK (host_type IN ('practice', 'federation', 'ict', 'external')),
    host_practice      TEXT REFERENCES practices (ods_code) ON UPDATE CASCADE,
    host_federation    TEXT REFERENCES federations (code) ON UPDATE CASCADE,
    host_ict           TEXT REFERENCES integrated_care_teams (code) ON UPDATE CASCADE,
    external_host_name TEXT,
    external_host_code TEXT,
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
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK (
        (host_type = 'practice'   AND host_practice IS NOT NULL AND host_federation IS NULL AND host_ict IS NULL AND external_host_name IS NULL) OR
        (host_type = 'federation' AND host_federation IS NOT NULL AND host_practice IS NULL AND host_ict IS NULL AND external_host_name IS NULL) OR
        (host_type = 'ict'        AND host_ict IS NOT NULL AND host_practice IS NULL AND host_federation IS NULL AND external_host_name IS NULL) OR
        (host_type = 'external'   AND external_host_name IS NOT NULL AND host_practice IS NULL AND host_federation IS NULL AND host_ict IS NULL)
    )
);
CREATE INDEX placements_created_idx ON placements (created_at, id);
CREATE INDEX placements_updated_idx ON placements (updated_at, id);
CREATE INDEX placements_start_idx ON placements (start_date, id);
CREATE INDEX placements_role_idx ON placements (role_code);
CREATE INDEX placements_programme_idx ON placements (programme_code);
CREATE INDEX placements_practice_idx ON placements (host_practice);
CREATE INDEX placements_federation_idx ON placements (host_federation);
CREATE INDEX placements_ict_idx ON placements (host_ict);
CREATE INDEX placements_staff_idx ON placements (staff_ref);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    actor_org   TEXT,
    action      TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'end', 'import')),
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, occurred_at);
