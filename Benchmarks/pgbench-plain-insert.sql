-- The plainest reference for the webhook benchmark: one durable single-row insert per transaction into a table
-- without indexes or constraints.
INSERT INTO plain_inserts (payload) VALUES (repeat('a', 200));
