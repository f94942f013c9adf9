-- Failed sign-ins older than a day are deleted at every failed sign-in; this index finds them without reading
-- the whole table.
CREATE INDEX staff_sign_in_failures_by_last ON staff_sign_in_failures (last_failure_micros);
