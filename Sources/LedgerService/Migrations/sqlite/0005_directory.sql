-- Directory endpoints: where visibility changes are delivered as Standard Webhooks. The signing secrets are
-- kept as given to the directory (they are needed to sign); a rotated-out secret keeps signing beside the
-- new one until `previous_secret_until_micros`.
CREATE TABLE directory_endpoints (
    endpoint_id                   TEXT    PRIMARY KEY,
    url                           TEXT    NOT NULL,
    secret                        TEXT    NOT NULL,
    previous_secret               TEXT,
    previous_secret_until_micros  BIGINT,
    event_types                   TEXT    NOT NULL,
    enabled                       INTEGER NOT NULL,
    disabled_reason               TEXT,
    created_at_micros             BIGINT  NOT NULL
);

-- One delivery per endpoint per published event, created by the `directory-outbox` projection in the same
-- transaction as its checkpoint. Workers claim due rows (a lease in `claimed_until_micros`), send, and record
-- the outcome. (commit_order, position) is the event's place in the log: deliveries for one profile go out in
-- that order.
CREATE TABLE directory_deliveries (
    delivery_id             INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id             TEXT    NOT NULL REFERENCES directory_endpoints (endpoint_id),
    event_id                TEXT    NOT NULL,
    event_type              TEXT    NOT NULL,
    profile_id              TEXT    NOT NULL,
    commit_order            BIGINT  NOT NULL,
    position                BIGINT  NOT NULL,
    recorded_at_micros      BIGINT  NOT NULL,
    payload                 TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts                INTEGER NOT NULL,
    next_attempt_at_micros  BIGINT  NOT NULL,
    claimed_until_micros    BIGINT,
    claimed_by              TEXT,
    last_status             INTEGER,
    last_error              TEXT,
    delivered_at_micros     BIGINT,
    CONSTRAINT directory_deliveries_once UNIQUE (endpoint_id, event_id)
);

CREATE INDEX directory_deliveries_due ON directory_deliveries (status, next_attempt_at_micros);
CREATE INDEX directory_deliveries_order ON directory_deliveries (endpoint_id, profile_id, status, commit_order, position);
