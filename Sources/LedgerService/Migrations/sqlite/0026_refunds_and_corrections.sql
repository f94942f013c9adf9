-- A payment's refunds count only in its own currency and never for more than it brought, and an allocation
-- taken back as a correction (a void, a move, a reopened resolution) leaves the listing as if never paid, not
-- refunded. The listing, the books and the payment views are emptied and take the log in again from the start
-- when the service next runs, so that rows kept before say what a rebuild says (the lists, the books and the
-- directory's snapshot of listed profiles wait for it).
DELETE FROM projection_states WHERE projection IN ('listing-status', 'books', 'payment-views');
DELETE FROM projection_checkpoints WHERE name IN ('listing-status', 'books', 'payment-views');
DELETE FROM listing_status;
DELETE FROM journal_lines;
DELETE FROM book_month_totals;
DELETE FROM book_balance_checks;
DELETE FROM bank_movements;
DELETE FROM payment_list;
DELETE FROM payment_exceptions;
DELETE FROM bank_payments;
