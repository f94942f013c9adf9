-- API keys. Only an HMAC of each key's secret is stored; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    key_id             TEXT    PRIMARY KEY,
    name               TEXT    NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('staff', 'website', 'directory')),
    secret_hash        BLOB    NOT NULL,
    created_at_micros  INTEGER NOT NULL,
    revoked_at_micros  INTEGER
);
