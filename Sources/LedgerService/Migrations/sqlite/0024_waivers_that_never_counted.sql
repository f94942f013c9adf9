-- A waiver revoked before its first day no longer counts as a listing the profile had (the profile is "not
-- listed yet", not "expired"), and a waiver revoked after its last day ends on its last day. The listing read
-- model is emptied and takes the log in again from the start when the service next runs, so that rows
-- evaluated before show the same (the lists and the directory's snapshot of listed profiles wait for it).
DELETE FROM projection_states WHERE projection = 'listing-status';
DELETE FROM projection_checkpoints WHERE name = 'listing-status';
DELETE FROM listing_status;
