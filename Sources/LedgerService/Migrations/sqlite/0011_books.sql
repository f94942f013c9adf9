-- The books: a journal of balanced entries folded from the log by the `books` projection, one entry per
-- change of a payment, bank line or statement, each line in minor units (debit positive, credit negative).
-- Dates are the organisation's calendar days, YYYY-MM-DD, so they sort as text.
CREATE TABLE journal_lines (
    entry_id            TEXT    NOT NULL,
    line_no             INTEGER NOT NULL,
    entry_date          TEXT    NOT NULL,
    commit_order        BIGINT  NOT NULL,
    position            BIGINT  NOT NULL,
    account             TEXT    NOT NULL,
    amount_minor_units  BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    payment_id          TEXT,
    -- card, paypal, bank or offline: how the money moved (bank for every bank line).
    method              TEXT    NOT NULL,
    profile_id          TEXT,
    narration           TEXT    NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);

CREATE INDEX journal_lines_in_order ON journal_lines (entry_date, commit_order, position, line_no);
CREATE INDEX journal_lines_by_account ON journal_lines (account, entry_date);

-- The closing balances of imported statements: what the bank account must hold at the start of `check_date`
-- (the day after the statement's last booked line), in the statement's currency. One per day and currency: of
-- two statements ending on the same day, the one imported last counts.
CREATE TABLE book_balance_checks (
    account             TEXT    NOT NULL,
    check_date          TEXT    NOT NULL,
    amount_minor_units  BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    statement_key       TEXT    NOT NULL,
    statement_id        TEXT,
    PRIMARY KEY (account, currency, check_date)
);
