-- The change feed reads the audit trail in commit order. Each row gets a sequence number
-- (assigned under a lock held to commit, so numbers are committed in order), the key the
-- record is addressed by in its collection, and the version the write left it at.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN entity_key TEXT;
ALTER TABLE audit_events ADD COLUMN entity_version INTEGER;

-- Rows written before this release: numbered in the order they were written.
WITH ordered AS (
    SELECT id, row_number() OVER (ORDER BY occurred_at, id) AS n FROM audit_events
)
UPDATE audit_events a SET seq = ordered.n FROM ordered WHERE a.id = ordered.id;

UPDATE audit_events SET
    entity_key = CASE
        WHEN entity_type = 'practice' THEN COALESCE(after, before)::json ->> 'odsCode'
        WHEN entity_type IN ('federation', 'integrated care team', 'role', 'programme')
            THEN COALESCE(after, before)::json ->> 'code'
        ELSE entity_id
    END,
    entity_version = CASE
        WHEN COALESCE(after, before) IS NULL OR entity_type = 'ods_import' THEN NULL
        ELSE (COALESCE(after, before)::json ->> 'version')::integer
    END;
UPDATE audit_events SET entity_key = entity_id WHERE entity_key IS NULL;

ALTER TABLE audit_events ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_events ALTER COLUMN entity_key SET NOT NULL;
CREATE UNIQUE INDEX audit_events_seq_idx ON audit_events (seq);
