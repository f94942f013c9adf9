-- The first outcome of each request sent with an Idempotency-Key, per API key, with a fingerprint of the
-- request (method, path, content type and body). A retry with the same key and request gets this outcome
-- back; the same key with another request is refused.
CREATE TABLE idempotency_records (
    caller             TEXT    NOT NULL,
    idempotency_key    TEXT    NOT NULL,
    fingerprint        BYTEA   NOT NULL,
    status             BIGINT NOT NULL,
    content_type       TEXT    NOT NULL,
    location           TEXT,
    body               BYTEA   NOT NULL,
    created_at_micros  BIGINT NOT NULL,
    PRIMARY KEY (caller, idempotency_key)
);
