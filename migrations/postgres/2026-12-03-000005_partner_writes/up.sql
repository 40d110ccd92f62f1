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
