-- The event log: append-only, one row per event. Writes are serialised (one writer, BEGIN IMMEDIATE), so
-- position order is commit order and readers read by position alone.
CREATE TABLE events (
    position            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id            TEXT    NOT NULL,
    stream              TEXT    NOT NULL,
    version             INTEGER NOT NULL CHECK (version > 0),
    type                TEXT    NOT NULL,
    schema_version      INTEGER NOT NULL CHECK (schema_version > 0),
    data                BLOB    NOT NULL,
    metadata            BLOB    NOT NULL,
    content_hash        BLOB    NOT NULL,
    recorded_at_micros  INTEGER NOT NULL,
    CONSTRAINT events_event_id_unique UNIQUE (event_id),
    CONSTRAINT events_stream_version_unique UNIQUE (stream, version)
);

-- Where each catch-up subscriber (projection) has got to. Updated in the same transaction as the
-- projection's read model.
CREATE TABLE projection_checkpoints (
    name          TEXT PRIMARY KEY,
    commit_order  INTEGER NOT NULL,
    position      INTEGER NOT NULL
);
