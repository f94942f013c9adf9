-- The journal summed per month, way of paying, currency and account, kept by the `books` projection beside
-- `journal_lines`, so the income report and the console's chart read a few rows per month instead of every
-- line. A ledger from before this table gets its sums here, once.
CREATE TABLE book_month_totals (
    month               TEXT    NOT NULL,
    method              TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    account             TEXT    NOT NULL,
    amount_minor_units  BIGINT  NOT NULL,
    PRIMARY KEY (month, method, currency, account)
);

INSERT INTO book_month_totals (month, method, currency, account, amount_minor_units)
SELECT substr(entry_date, 1, 7), method, currency, account, CAST(SUM(amount_minor_units) AS BIGINT)
FROM journal_lines
GROUP BY substr(entry_date, 1, 7), method, currency, account
HAVING CAST(SUM(amount_minor_units) AS BIGINT) <> 0;
