-- The staff lists in the order they are shown, so a page of the newest payments or of one status's listings
-- reads its rows from an index instead of sorting every row.
CREATE INDEX payment_list_newest_first ON payment_list (effective_date DESC, payment_id);
CREATE INDEX listing_status_in_order ON listing_status (status, (COALESCE(paid_through, '9999-12-31')), profile_id);
