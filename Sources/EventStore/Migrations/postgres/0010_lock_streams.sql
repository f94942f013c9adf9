-- Multi-stream appends lock their streams in one global order (by lock key), so two appends that touch
-- the same streams never wait for each other in a cycle. `ledger_append` takes the same locks again,
-- which is free: advisory locks are re-entrant within a session.
--
-- The event store owns this function. It was first created by 0004, which the service's tables share; on a
-- database that has 0004 this replaces it with the same body, and a database with only the store's own
-- migrations gets it here.
CREATE OR REPLACE FUNCTION ledger_lock_streams(p_streams TEXT[]) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    v_key BIGINT;
BEGIN
    FOR v_key IN SELECT DISTINCT hashtextextended(s, 0) FROM unnest(p_streams) AS s ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
END
$$;
