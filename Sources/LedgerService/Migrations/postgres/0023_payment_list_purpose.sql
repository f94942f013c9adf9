-- The payment list's `purpose` now says what staff decided a held payment is (a donation, not a contribution,
-- the card provider's or PayPal's payout), not only what its payer said it was for.
--
-- The payment views are emptied and take the log in again from the start when the service next runs, so that
-- payments decided before show what they were decided to be.
DELETE FROM projection_states WHERE projection = 'payment-views';
DELETE FROM projection_checkpoints WHERE name = 'payment-views';
DELETE FROM payment_list;
DELETE FROM payment_exceptions;
DELETE FROM bank_payments;
