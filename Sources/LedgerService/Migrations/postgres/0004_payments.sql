-- Multi-stream appends lock their streams in one global order (by lock key), so two appends that touch
-- the same streams never wait for each other in a cycle. `ledger_append` takes the same locks again,
-- which is free: advisory locks are re-entrant within a session.
CREATE FUNCTION ledger_lock_streams(p_streams TEXT[]) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    v_key BIGINT;
BEGIN
    FOR v_key IN SELECT DISTINCT hashtextextended(s, 0) FROM unnest(p_streams) AS s ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
END
$$;

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
    suggested_profile_id  TEXT,
    details               TEXT,
    raised_at_micros      BIGINT  NOT NULL,
    resolved              INTEGER NOT NULL,
    resolution            TEXT,
    resolved_at_micros    BIGINT
);

CREATE INDEX payment_exceptions_open ON payment_exceptions (resolved, raised_at_micros);

-- Bank payments by the payer's account and end-to-end id: suggestions for transfers without a reference, and
-- the payment a returned transfer gives back. Rebuilt from the log by the `bank-index` projection.
CREATE TABLE bank_payments (
    payment_id     TEXT PRIMARY KEY,
    payer_account  TEXT,
    end_to_end_id  TEXT,
    profile_id     TEXT
);

CREATE INDEX bank_payments_payer ON bank_payments (payer_account);
CREATE INDEX bank_payments_end_to_end ON bank_payments (end_to_end_id);
