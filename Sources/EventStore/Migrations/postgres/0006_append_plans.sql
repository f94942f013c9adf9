-- Let ledger_append keep its plans between calls.
--
-- 0001 made every call plan each of its statements anew (plan_cache_mode = force_custom_plan), for fear that a
-- plan cached while the table was small would scan it sequentially as it grew. Every statement in the function
-- is an equality lookup on a unique index (event_id; stream and version) or an insert, and PostgreSQL plans a
-- table it has never analysed as at least ten pages, where those index scans already win; a cached plan is
-- also made again whenever ANALYZE (or autovacuum) changes the table's statistics. Planning four statements on
-- every append, and saving and restoring the setting around every call, cost more than the append itself.
ALTER FUNCTION ledger_append(TEXT, BIGINT, UUID[], TEXT[], INTEGER[], BYTEA[], BYTEA[], BYTEA[], TIMESTAMPTZ)
    RESET plan_cache_mode;
