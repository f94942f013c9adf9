-- Lists for staff: every payment with where it stands, and every profile with what it can be found by.
-- Rebuilt from the log by the `payment-list` and `profile-search` projections.
CREATE TABLE payment_list (
    payment_id          TEXT    PRIMARY KEY,
    method              TEXT    NOT NULL,
    purpose             TEXT,
    state               TEXT    NOT NULL,
    amount_minor_units  BIGINT,
    currency            TEXT,
    profile_id          TEXT,
    effective_date      TEXT,
    month               TEXT,
    refunded_minor_units BIGINT NOT NULL,
    updated_at_micros   BIGINT  NOT NULL
);

CREATE INDEX payment_list_by_month ON payment_list (month, payment_id);
CREATE INDEX payment_list_by_state ON payment_list (state, month);

CREATE TABLE profile_search (
    profile_id          TEXT    PRIMARY KEY,
    display_name        TEXT    NOT NULL,
    contact_email       TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    search_text         TEXT    NOT NULL
);
