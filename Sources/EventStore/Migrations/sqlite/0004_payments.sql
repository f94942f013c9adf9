-- The staff exception queue: payments that were recorded but not applied, and why. Rebuilt from the log
-- by the `payment-exceptions` projection. Instants are microseconds since 1970.
CREATE TABLE payment_exceptions (
    payment_id            TEXT    PRIMARY KEY,
    method                TEXT    NOT NULL,
    amount_minor_units    BIGINT  NOT NULL,
    currency              TEXT    NOT NULL,
    purpose               TEXT,
    profile_id            TEXT,
    reason_code           TEXT    NOT NULL,
    reason                TEXT    NOT NULL,
    raised_at_micros      BIGINT  NOT NULL,
    resolved              INTEGER NOT NULL,
    resolution            TEXT,
    resolved_at_micros    BIGINT
);

CREATE INDEX payment_exceptions_open ON payment_exceptions (resolved, raised_at_micros);
