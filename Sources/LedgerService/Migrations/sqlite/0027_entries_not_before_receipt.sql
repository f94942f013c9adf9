-- A payment's later entries (a void, a refund, a move) are never dated before its receipt: a payment recorded by
-- hand for a day ahead and voided before that day was taken back in the books before it had come in. The books
-- are emptied and take the log in again from the start when the service next runs, so that lines kept before
-- say what a rebuild says.
DELETE FROM projection_states WHERE projection = 'books';
DELETE FROM projection_checkpoints WHERE name = 'books';
DELETE FROM journal_lines;
DELETE FROM book_month_totals;
DELETE FROM book_balance_checks;
DELETE FROM bank_movements;
