-- The bank lines that are not payments, kept by the `books` projection beside the journal, so staff can pick
-- the transfer that paid a payment back (`paid_back_payment_id` names it once one did).
--
-- The books and the payment views are emptied and take the log in again from the start when the service next
-- runs: the lines imported before fill this table, and both fold the payments' refund reports as this version
-- orders them (by the provider's time, a failed refund staying failed), which states kept before cannot say.
CREATE TABLE bank_movements (
    line_key                TEXT    PRIMARY KEY,
    booking_date            TEXT    NOT NULL,
    -- in or out: money that came into the bank account, or left it.
    direction               TEXT    NOT NULL,
    amount_minor_units      BIGINT  NOT NULL,
    currency                TEXT    NOT NULL,
    counterparty            TEXT,
    details                 TEXT    NOT NULL,
    return_reason           TEXT,
    paid_back_payment_id    TEXT
);

CREATE INDEX bank_movements_to_match ON bank_movements (direction, currency, amount_minor_units, booking_date);

DELETE FROM projection_states WHERE projection IN ('books', 'payment-views');
DELETE FROM projection_checkpoints WHERE name IN ('books', 'payment-views');
DELETE FROM journal_lines;
DELETE FROM book_month_totals;
DELETE FROM book_balance_checks;
DELETE FROM payment_list;
DELETE FROM payment_exceptions;
DELETE FROM bank_payments;
