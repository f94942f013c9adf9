-- The bank account's opening balance is the one of the earliest statement that states one, by its first day,
-- not of the first statement imported: a statement of earlier days imported later moves the opening, and bank
-- lines of days before the opening change its amount. The books are emptied and take the log in again from the
-- start when the service next runs, since states kept before cannot say what was posted before the opening.
DELETE FROM projection_states WHERE projection = 'books';
DELETE FROM projection_checkpoints WHERE name = 'books';
DELETE FROM journal_lines;
DELETE FROM book_month_totals;
DELETE FROM book_balance_checks;
DELETE FROM bank_movements;
