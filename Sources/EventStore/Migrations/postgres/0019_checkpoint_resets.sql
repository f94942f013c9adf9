-- How many times each read model was reset for a rebuild. A batch decided outside the write transaction is
-- written only if its read model's checkpoint, resets included, is still the one it was decided from: a
-- rebuild that went back to zero and forward again to the same place is still seen.
ALTER TABLE projection_checkpoints ADD COLUMN resets BIGINT NOT NULL DEFAULT 0;
