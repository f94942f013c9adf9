-- The folded state of each stream a projection follows, so a read model changes only from the events it is
-- handed and its own rows, never by reading streams. The listing, payment-exception and bank-index read models
-- start again from the beginning of the log, now as folds.
CREATE TABLE projection_states (
    projection  TEXT   NOT NULL,
    stream      TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    PRIMARY KEY (projection, stream)
);
DELETE FROM listing_status;
DELETE FROM payment_exceptions;
DELETE FROM bank_payments;
UPDATE projection_checkpoints SET commit_order = 0, position = 0
    WHERE name IN ('listing-status', 'payment-exceptions', 'bank-index');
