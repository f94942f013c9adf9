-- How each visibility change moved the number of listed profiles: +1 (hidden to listed), -1 (listed to
-- hidden) or 0, so "listed at the end of a month" is one sum over an index range instead of a window over
-- every change. Ledgers from before this column get it computed here, once.
ALTER TABLE listing_changes ADD COLUMN delta INTEGER NOT NULL DEFAULT 0;

UPDATE listing_changes SET delta = moves.delta
FROM (
    SELECT profile_id, version, visible - COALESCE(LAG(visible) OVER (PARTITION BY profile_id ORDER BY version), 0) AS delta
    FROM listing_changes
) AS moves
WHERE listing_changes.profile_id = moves.profile_id AND listing_changes.version = moves.version;

CREATE INDEX listing_changes_moves ON listing_changes (occurred_at_micros, delta);
