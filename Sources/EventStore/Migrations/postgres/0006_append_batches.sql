-- Appends from concurrent writers, written together in one transaction (one commit flush for all of them).
--
-- Each append keeps its own expected-version check and its own idempotency, as if it ran alone, and its rows
-- come back numbered with its place in the batch (r_append, from 1), in version order. A conflict or a replay
-- in one append is a row for that append, not an error, so the others still commit.
-- The streams' locks are taken first, in the one global order ledger_lock_streams uses, so two batches (or a
-- batch and a multi-stream append) never wait for each other in a cycle.
--
-- p_event_counts[i] is the number of events of append i; the event arrays hold every append's events in order.
--
-- The function keeps its plans between calls, and plans them without sequential scans: every lookup here is
-- by a unique index (event_id; stream and version), but on a small table the planner prefers to scan it for
-- `EXISTS (... event_id = ANY (...))`, and a plan cached then would go on scanning as the table grows.
-- The setting also covers ledger_append when it runs inside this function.
CREATE FUNCTION ledger_append_batch(
    p_streams TEXT[],
    p_expected BIGINT[],
    p_event_counts INTEGER[],
    p_event_ids UUID[],
    p_types TEXT[],
    p_schema_versions INTEGER[],
    p_data BYTEA[],
    p_metadata BYTEA[],
    p_hashes BYTEA[],
    p_recorded_at TIMESTAMPTZ
) RETURNS TABLE (
    r_append INTEGER,
    r_outcome TEXT,
    r_current_version BIGINT,
    r_event_id UUID,
    r_stream TEXT,
    r_version BIGINT,
    r_position BIGINT,
    r_content_hash BYTEA
) LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    v_first INTEGER := 1;
    v_last INTEGER;
BEGIN
    IF cardinality(p_streams) <> cardinality(p_expected) OR cardinality(p_streams) <> cardinality(p_event_counts)
       OR (SELECT sum(c) FROM unnest(p_event_counts) AS c) <> cardinality(p_event_ids) THEN
        RAISE EXCEPTION 'ledger_append_batch: % streams, % expected versions, % event counts and % events do not match',
            cardinality(p_streams), cardinality(p_expected), cardinality(p_event_counts), cardinality(p_event_ids);
    END IF;
    PERFORM ledger_lock_streams(p_streams);

    -- The usual batch: distinct streams, distinct event ids, none stored before. Checked and inserted in one
    -- statement, which starts after the locks are held and so sees every append to these streams committed
    -- before.
    IF cardinality(p_streams) = (SELECT count(DISTINCT s) FROM unnest(p_streams) AS s)
       AND cardinality(p_event_ids) = (SELECT count(DISTINCT i) FROM unnest(p_event_ids) AS i)
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
        RETURN QUERY
        WITH appends AS (
            SELECT a.number::INTEGER AS number, a.stream, a.expected, a.event_count,
                   (sum(a.event_count) OVER (ORDER BY a.number) - a.event_count)::INTEGER AS first_event,
                   COALESCE((SELECT max(e.version) FROM events e WHERE e.stream = a.stream), 0) AS current_version
              FROM unnest(p_streams, p_expected, p_event_counts) WITH ORDINALITY AS a(stream, expected, event_count, number)
        ), checked AS (
            SELECT a.*, (a.expected = -1
                         OR (a.expected = -2 AND a.current_version = 0)
                         OR (a.expected = -3 AND a.current_version > 0)
                         OR a.expected = a.current_version) AS accepted
              FROM appends a
        ), inserted AS (
            INSERT INTO events AS e (event_id, stream, version, type, schema_version, data, metadata, content_hash, recorded_at)
            SELECT u.id, c.stream, c.current_version + (u.ordinal - c.first_event), u.type, u.schema_version, u.data,
                   u.metadata, u.hash, p_recorded_at
              FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_hashes)
                   WITH ORDINALITY AS u(id, type, schema_version, data, metadata, hash, ordinal)
              JOIN checked c ON u.ordinal > c.first_event AND u.ordinal <= c.first_event + c.event_count
             WHERE c.accepted
             ORDER BY u.ordinal
            RETURNING e.event_id, e.stream, e.version, e.position, e.content_hash
        )
        SELECT c.number, 'appended'::TEXT, c.current_version, i.event_id, i.stream, i.version, i.position, i.content_hash
          FROM inserted i JOIN checked c ON c.stream = i.stream
        UNION ALL
        SELECT c.number, 'conflict'::TEXT, c.current_version, NULL::UUID, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA
          FROM checked c
         WHERE NOT c.accepted
        ORDER BY 1, 6;
        RETURN;
    END IF;

    -- A stream twice, an event id twice, or a replay: one append after the other, each seeing the ones before it.
    FOR v_append IN 1 .. cardinality(p_streams) LOOP
        v_last := v_first + p_event_counts[v_append] - 1;
        RETURN QUERY
            SELECT v_append, a.r_outcome, a.r_current_version, a.r_event_id, a.r_stream, a.r_version, a.r_position, a.r_content_hash
              FROM ledger_append(
                       p_streams[v_append], p_expected[v_append], p_event_ids[v_first:v_last], p_types[v_first:v_last],
                       p_schema_versions[v_first:v_last], p_data[v_first:v_last], p_metadata[v_first:v_last],
                       p_hashes[v_first:v_last], p_recorded_at
                   ) AS a;
        v_first := v_last + 1;
    END LOOP;
END
$$;
