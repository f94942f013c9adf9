-- The listing read model: one row per profile, rebuilt from the log by the `listing-status` projection.
-- Dates are ISO text (YYYY-MM-DD), instants are microseconds since 1970.
CREATE TABLE listing_status (
    profile_id             TEXT    PRIMARY KEY,
    display_name           TEXT    NOT NULL,
    kind                   TEXT    NOT NULL,
    status                 TEXT    NOT NULL,
    visible                INTEGER NOT NULL,
    paid_through           TEXT,
    credit_minor_units     BIGINT  NOT NULL,
    reason                 TEXT,
    basis                  TEXT,
    next_change_at_micros  BIGINT,
    stream_version         BIGINT  NOT NULL
);

CREATE INDEX listing_status_status ON listing_status (status, paid_through);
CREATE INDEX listing_status_next_change ON listing_status (next_change_at_micros);
