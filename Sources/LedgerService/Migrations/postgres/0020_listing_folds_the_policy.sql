-- The listing read model now folds the `policy` stream too and evaluates each row under the policy the log
-- records, not the one the instance last read. Its rows, states and checkpoint are emptied, and it takes the
-- log in again from the start when the service next runs (the lists and the directory's snapshot of listed
-- profiles wait for it).
DELETE FROM projection_states WHERE projection = 'listing-status';
DELETE FROM projection_checkpoints WHERE name = 'listing-status';
DELETE FROM listing_status;
