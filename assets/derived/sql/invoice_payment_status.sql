-- Payment status of sales invoices (SI) and credit notes (SC).
-- Live audit trail: outstanding and amount paid are Sage's own figures on the SI/SC header;
-- AUDIT_USAGE says which transactions paid it and when. History: cleared means fully paid.
-- A null `deleted` (a source without Sage's DELETED_FLAG, e.g. Sage 50 FR) means not deleted.
WITH live_headers AS (
    SELECT * FROM staging.audit_headers WHERE NOT coalesce(deleted, FALSE) AND deleted_at IS NULL
),
documents AS (
    SELECT * FROM live_headers WHERE type IN ('SI', 'SC')
),
live_splits AS (
    SELECT split_number, header_number FROM staging.audit_splits
    WHERE NOT coalesce(deleted, FALSE) AND deleted_at IS NULL
),
-- Each allocation is stored twice (once from each side); the side whose SPLIT_CROSSREF is the
-- document's split names the paying split in SPLIT_NUMBER, so each is counted once. An
-- un-allocation zeroes AMOUNT, a deleted receipt flags its usages and header: both drop out.
allocations AS (
    SELECT document.header_number, u.amount, payer.date AS paid_on
    FROM staging.audit_usages AS u
    JOIN live_splits AS document_split ON document_split.split_number = u.split_cross_reference
    JOIN documents AS document ON document.header_number = document_split.header_number
    JOIN live_splits AS payer_split ON payer_split.split_number = u.split_number
    JOIN live_headers AS payer ON payer.header_number = payer_split.header_number
    WHERE NOT coalesce(u.deleted, FALSE) AND u.deleted_at IS NULL AND u.amount <> 0
),
allocated AS (
    SELECT header_number, sum(amount) AS allocated_amount, max(paid_on) AS last_payment_date
    FROM allocations
    GROUP BY header_number
),
live AS (
    SELECT
        d.header_number,
        'audit_trail' AS source,
        d.invoice_reference AS invoice_number,
        d.account_reference,
        d.type,
        d.date AS invoice_date,
        d.gross_amount,
        d.amount_paid,
        d.outstanding AS outstanding_amount,
        coalesce(a.allocated_amount, 0) AS allocated_amount,
        CASE
            WHEN abs(d.outstanding) = 0 THEN 'paid'
            WHEN abs(d.outstanding) < abs(d.gross_amount) THEN 'part-paid'
            ELSE 'unpaid'
        END AS status,
        a.last_payment_date
    FROM documents AS d
    LEFT JOIN allocated AS a ON a.header_number = d.header_number
),
cleared AS (
    SELECT
        h.header_number,
        'audit_history' AS source,
        any_value(h.invoice_number) AS invoice_number,
        any_value(h.account_reference) AS account_reference,
        any_value(h.type) AS type,
        any_value(h.invoice_date) AS invoice_date,
        sum(h.gross_amount) AS gross_amount,
        sum(h.gross_amount) AS amount_paid,
        CAST(0 AS DECIMAL(18, 2)) AS outstanding_amount,
        sum(h.gross_amount) AS allocated_amount,
        'paid' AS status,
        max(h.paid_date) AS last_payment_date
    FROM staging.sales_payments_history AS h
    -- an anti join, not NOT IN: one null header_number in `documents` would empty NOT IN
    ANTI JOIN documents AS d ON d.header_number = h.header_number
    WHERE NOT coalesce(h.deleted, FALSE) AND h.deleted_at IS NULL
    GROUP BY h.header_number
),
statuses AS (
    SELECT * FROM live
    UNION ALL BY NAME
    SELECT * FROM cleared
)
SELECT
    s.header_number,
    s.source,
    s.invoice_number,
    try_cast(s.invoice_number AS INTEGER) AS invoice_number_numeric,
    s.account_reference,
    s.type,
    CASE s.type WHEN 'SI' THEN 'Invoice' ELSE 'Credit Note' END AS invoice_or_credit,
    s.invoice_date,
    CAST(s.gross_amount AS DECIMAL(18, 2)) AS gross_amount,
    CAST(s.amount_paid AS DECIMAL(18, 2)) AS amount_paid,
    CAST(s.outstanding_amount AS DECIMAL(18, 2)) AS outstanding_amount,
    CAST(s.allocated_amount AS DECIMAL(18, 2)) AS allocated_amount,
    s.status,
    s.status = 'paid' AS paid_flag,
    s.last_payment_date,
    CASE WHEN s.status = 'paid' THEN s.last_payment_date END AS paid_date,
    -- The customer's terms: PAYMENT_DUE_DAYS counted from PAYMENT_DUE_FROM (reference §2.7, and
    -- Sage's KB "Set payment terms and due dates"). N is the number of days; the arithmetic on
    -- month ends is this connector's reading (see the catalogue note) and lives only here.
    CASE WHEN s.type = 'SI' THEN CAST(
        CASE c.payment_due_from
            -- 1: N days from the 1st of the following month
            WHEN 1 THEN date_trunc('month', s.invoice_date) + INTERVAL 1 MONTH
                        + c.payment_due_days * INTERVAL 1 DAY
            -- 2: N days before the last day of the following month
            WHEN 2 THEN last_day(s.invoice_date + INTERVAL 1 MONTH)
                        - c.payment_due_days * INTERVAL 1 DAY
            -- 3: day N of the month, or of the following month when the invoice is dated after
            -- it; a day past the month's end is its last day (31 = month end)
            WHEN 3 THEN CASE
                WHEN s.invoice_date <= day_of_month(s.invoice_date, c.payment_due_days)
                    THEN day_of_month(s.invoice_date, c.payment_due_days)
                ELSE day_of_month(s.invoice_date + INTERVAL 1 MONTH, c.payment_due_days)
            END
            -- 4: N days from one month after the invoice date; 31 January + 1 month is the last
            -- day of February (DuckDB clamps; Sage's own month-end rule is unconfirmed)
            WHEN 4 THEN s.invoice_date + INTERVAL 1 MONTH + c.payment_due_days * INTERVAL 1 DAY
            -- 0 (and anything else): N days after the invoice date
            ELSE s.invoice_date + c.payment_due_days * INTERVAL 1 DAY
        END AS DATE) END AS payment_due_date
FROM statuses AS s
LEFT JOIN staging.customer_accounts AS c ON c.account_reference = s.account_reference
