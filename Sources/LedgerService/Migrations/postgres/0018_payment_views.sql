-- The payment list, the exception queue and the bank index are now kept by one fold of each payment
-- ("payment-views") instead of three. The three tables are emptied with the old folds' states and
-- checkpoints, and the new fold fills them again from the start of the log when the service next runs.
DELETE FROM projection_states WHERE projection IN ('payment-exceptions', 'bank-index', 'payment-list');
DELETE FROM projection_checkpoints WHERE name IN ('payment-exceptions', 'bank-index', 'payment-list');
DELETE FROM payment_exceptions;
DELETE FROM bank_payments;
DELETE FROM payment_list;
