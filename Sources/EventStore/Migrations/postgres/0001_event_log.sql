-- The event log: append-only, one row per event.
--
-- `transaction_id` orders events for readers. A position is taken at insert but becomes visible at commit,
-- so readers read in (transaction_id, position) order and only below the oldest running transaction
-- (pg_snapshot_xmin): nothing can later commit below what a reader has returned.
CREATE TABLE events (
    position        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  XID8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        UUID        NOT NULL,
    stream          TEXT        NOT NULL,
    version         BIGINT      NOT NULL CHECK (version > 0),
    type            TEXT        NOT NULL,
    schema_version  INTEGER     NOT NULL CHECK (schema_version > 0),
    data            BYTEA       NOT NULL,
    metadata        BYTEA       NOT NULL,
    content_hash    BYTEA       NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT events_event_id_unique UNIQUE (event_id),
    CONSTRAINT events_stream_version_unique UNIQUE (stream, version)
);

CREATE INDEX events_commit_order ON events (transaction_id, position);

-- One round trip per append: replay detection, the expected-version check and the insert run as one
-- statement. Appends to one stream queue on a transaction-scoped advisory lock keyed by the stream name
-- (other streams never wait), so each sees the previous one's committed version. A concurrent replay of
-- the same id in another stream surfaces as a unique violation on events_event_id_unique and is retried.
-- p_expected: >= 0 exact version, -1 any, -2 no stream, -3 stream exists.
CREATE FUNCTION ledger_append(
    p_stream TEXT,
    p_expected BIGINT,
    p_event_ids UUID[],
    p_types TEXT[],
    p_schema_versions INTEGER[],
    p_data BYTEA[],
    p_metadata BYTEA[],
    p_hashes BYTEA[],
    p_recorded_at TIMESTAMPTZ
) RETURNS TABLE (
    r_outcome TEXT,
    r_current_version BIGINT,
    r_event_id UUID,
    r_stream TEXT,
    r_version BIGINT,
    r_position BIGINT,
    r_content_hash BYTEA
) LANGUAGE plpgsql
-- Plan each call against the table as it is: a plan cached while the table was empty would keep
-- scanning it sequentially as it grows (until the next ANALYZE).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_current BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, 0));

    IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
        RETURN QUERY
            SELECT 'stored'::TEXT, NULL::BIGINT, e.event_id, e.stream, e.version, e.position, e.content_hash
              FROM events e
             WHERE e.event_id = ANY (p_event_ids)
             ORDER BY e.position;
        RETURN;
    END IF;

    SELECT COALESCE(max(e.version), 0) INTO v_current FROM events e WHERE e.stream = p_stream;
    IF NOT (p_expected = -1
            OR (p_expected = -2 AND v_current = 0)
            OR (p_expected = -3 AND v_current > 0)
            OR p_expected = v_current) THEN
        RETURN QUERY SELECT 'conflict'::TEXT, v_current, NULL::UUID, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA;
        RETURN;
    END IF;

    RETURN QUERY
        INSERT INTO events AS e (event_id, stream, version, type, schema_version, data, metadata, content_hash, recorded_at)
        SELECT u.id, p_stream, v_current + u.ordinal, u.type, u.schema_version, u.data, u.metadata, u.hash, p_recorded_at
          FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_hashes)
               WITH ORDINALITY AS u(id, type, schema_version, data, metadata, hash, ordinal)
         ORDER BY u.ordinal
        RETURNING 'appended'::TEXT, v_current, e.event_id, e.stream, e.version, e.position, e.content_hash;
END
$$;

-- Where each catch-up subscriber (projection) has got to. Updated in the same transaction as the
-- projection's read model.
CREATE TABLE projection_checkpoints (
    name          TEXT PRIMARY KEY,
    commit_order  BIGINT NOT NULL,
    position      BIGINT NOT NULL
);
