-- Every visibility change the directory was told, for "how many profiles were listed at the end of each
-- month". Rebuilt from the log by the `listing-history` projection.
CREATE TABLE listing_changes (
    profile_id          TEXT    NOT NULL,
    version             BIGINT  NOT NULL,
    occurred_at_micros  BIGINT  NOT NULL,
    visible             INTEGER NOT NULL,
    PRIMARY KEY (profile_id, version)
);

CREATE INDEX listing_changes_by_time ON listing_changes (occurred_at_micros);
