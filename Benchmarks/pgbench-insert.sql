-- pgbench's side of the comparison: one durable single-row insert per transaction into the events table,
-- with the same indexes and row shape as a one-event append (but none of its checks). Its event id is
-- time-ordered as the ledger's are (the millisecond in the first 48 bits, then random digits), so both add ids
-- at the end of the event-id index.
INSERT INTO events (event_id, stream, version, type, schema_version, data, metadata, content_hash, recorded_at)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
         || substr(replace(gen_random_uuid()::text, '-', ''), 13))::uuid,
        'pgbench-' || gen_random_uuid(), 1, 'BenchmarkEvent', 1,
        convert_to('{"bench":"' || repeat('a', 200) || '"}', 'UTF8'), convert_to('{}', 'UTF8'),
        sha256(convert_to('x', 'UTF8')), now());
