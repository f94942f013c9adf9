-- The first outcome of each request sent with an Idempotency-Key, per API key, with a fingerprint of the
-- request (method, path, content type and body). A retry with the same key and request gets this outcome
-- back; the same key with another request is refused.
CREATE TABLE idempotency_records (
    caller             TEXT    NOT NULL,
    idempotency_key    TEXT    NOT NULL,
    fingerprint        BLOB   NOT NULL,
    status             INTEGER NOT NULL,
    content_type       TEXT    NOT NULL,
    location           TEXT,
    body               BLOB   NOT NULL,
    created_at_micros  INTEGER NOT NULL,
    PRIMARY KEY (caller, idempotency_key)
);
