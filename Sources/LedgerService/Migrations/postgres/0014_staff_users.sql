-- People who sign in to the staff console. Passwords are stored as bcrypt hashes only.
CREATE TABLE staff_users (
    user_id                     TEXT    PRIMARY KEY,
    email                       TEXT    NOT NULL UNIQUE,
    name                        TEXT    NOT NULL,
    password_hash               TEXT    NOT NULL,
    created_at_micros           BIGINT  NOT NULL,
    password_changed_at_micros  BIGINT  NOT NULL,
    disabled_at_micros          BIGINT
);

-- Signed-in browsers. Only a SHA-256 of the cookie's token is stored, so a copy of the database opens no
-- session; each session has its own token for the console's forms.
CREATE TABLE staff_sessions (
    token_hash          BYTEA   PRIMARY KEY,
    user_id             TEXT    NOT NULL REFERENCES staff_users (user_id),
    form_token          TEXT    NOT NULL,
    created_at_micros   BIGINT  NOT NULL,
    expires_at_micros   BIGINT  NOT NULL
);

CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

-- Failed sign-ins per e-mail address since the last successful one, for the slowdown.
CREATE TABLE staff_sign_in_failures (
    email                 TEXT    PRIMARY KEY,
    failures              INTEGER NOT NULL,
    last_failure_micros   BIGINT  NOT NULL
);
