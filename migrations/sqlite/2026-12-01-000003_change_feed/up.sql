-- The change feed reads the audit trail in commit order. Each row gets a sequence number
-- (SQLite has one writer at a time, so numbers are committed in order), the key the record
-- is addressed by in its collection, and the version the write left it at.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN entity_key TEXT;
ALTER TABLE audit_events ADD COLUMN entity_version INTEGER;

-- Rows written before this release: numbered in the order they were written.
WITH ordered AS (
    SELECT id, row_number() OVER (ORDER BY occurred_at, id) AS n FROM audit_events
)
UPDATE audit_events SET seq = (SELECT n FROM ordered WHERE ordered.id = audit_events.id);

UPDATE audit_events SET
    entity_key = CASE
        WHEN entity_type = 'practice' THEN json_extract(COALESCE(after, before), '$.odsCode')
        WHEN entity_type IN ('federation', 'integrated care team', 'role', 'programme')
            THEN json_extract(COALESCE(after, before), '$.code')
        ELSE entity_id
    END,
    entity_version = CASE
        WHEN COALESCE(after, before) IS NULL OR entity_type = 'ods_import' THEN NULL
        ELSE json_extract(COALESCE(after, before), '$.version')
    END;
UPDATE audit_events SET entity_key = entity_id WHERE entity_key IS NULL;

-- SQLite cannot add NOT NULL to an existing column; every write sets both.
CREATE UNIQUE INDEX audit_events_seq_idx ON audit_events (seq);
