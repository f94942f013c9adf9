-- What a report of the provider or bank took back covers only the reversals by hand recorded before it, and a
-- chargeback by hand that a won dispute undid no longer sets where the others are measured from: a reversal by hand
-- recorded after a refund was reported stood only in part. The books and the payment views are emptied and take the
-- log in again from the start when the service next runs, so that rows kept before say what a rebuild says (the
-- lists and the books wait for it).
DELETE FROM projection_states WHERE projection IN ('books', 'payment-views');
DELETE FROM projection_checkpoints WHERE name IN ('books', 'payment-views');
DELETE FROM journal_lines;
DELETE FROM book_month_totals;
DELETE FROM book_balance_checks;
DELETE FROM bank_movements;
DELETE FROM payment_list;
DELETE FROM payment_exceptions;
DELETE FROM bank_payments;
