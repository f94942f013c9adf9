-- Each verified PayPal transmission id with the SHA-256 of the body it was verified with. PayPal signs only a
-- CRC-32 of the body, so the same headers over another body (an equal CRC-32 is easy to make) are refused.
CREATE TABLE paypal_transmissions (
    transmission_id    TEXT    PRIMARY KEY,
    body_sha256        BYTEA   NOT NULL,
    seen_at_micros     BIGINT NOT NULL
);
