-- Invoices (posted and unposted) and posted credit notes as SSM sales, one per document (a
-- credit note's totals are negative). Payment status, amount outstanding and due date come
-- from the audit trail (derived payment status), matched by document number and type (SI
-- invoice, SC credit note); a document Sage has not posted has no audit entry yet: not posted,
-- all outstanding, due on the invoice's own due date.
-- Totals: `total`/`net_total` in the company's base currency (what the audit trail and the
-- account balance count in), `*_in_currency` in the document's own currency (`currency_code`),
-- as the order totals are; for a base-currency document both are the same.
WITH documents AS (
    SELECT invoice_number AS number, 'Invoice' AS document_type, 'SI' AS audit_type,
           TRUE AS posted, any_value(invoice_date) AS document_date,
           any_value(account_reference) AS account, any_value(total_net) AS net_total,
           any_value(total_gross) AS total, any_value(payment_due_date) AS invoice_due_date,
           any_value(currency_code) AS currency_code,
           any_value(total_net_foreign) AS net_total_in_currency,
           any_value(total_gross_foreign) AS total_in_currency
    FROM staging.posted_sales_invoices WHERE deleted_at IS NULL GROUP BY invoice_number
    UNION ALL
    SELECT invoice_number, 'Invoice', 'SI', FALSE, any_value(invoice_date),
           any_value(account_reference), any_value(total_net), any_value(total_gross),
           any_value(payment_due_date), any_value(currency_code),
           any_value(total_net_foreign), any_value(total_gross_foreign)
    FROM staging.unposted_sales_invoices WHERE deleted_at IS NULL GROUP BY invoice_number
    UNION ALL
    SELECT invoice_number_credit_note_no, 'Credit Note', 'SC', TRUE, any_value(credit_date),
           any_value(account_reference), -any_value(total_net), -any_value(total_gross),
           CAST(NULL AS DATE), any_value(currency_code),
           -any_value(total_net_foreign), -any_value(total_gross_foreign)
    FROM staging.posted_sales_credits WHERE deleted_at IS NULL
    GROUP BY invoice_number_credit_note_no
),
-- One status per document: the live audit trail before the cleared history.
status AS (
    SELECT invoice_number_numeric AS number, type, status, outstanding_amount, payment_due_date,
           paid_date
    FROM derived.invoice_payment_status
    WHERE invoice_number_numeric IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY invoice_number_numeric, type
        ORDER BY source = 'audit_trail' DESC, header_number DESC) = 1
)
SELECT
    CAST(d.number AS VARCHAR) AS ext_id,
    d.account AS account_ext_id,
    nullif(trim(a.${rep_column}), '') AS sales_rep,
    d.document_date,
    d.total,
    CAST(d.number AS VARCHAR) AS number,
    d.document_type,
    d.posted,
    d.net_total,
    CASE
        WHEN NOT d.posted THEN 'Not posted'
        WHEN s.status = 'paid' THEN 'Paid'
        WHEN s.status = 'part-paid' THEN 'Part paid'
        ELSE 'Unpaid'
    END AS payment_status,
    CAST(CASE WHEN d.posted AND s.number IS NOT NULL THEN s.outstanding_amount
              ELSE abs(d.total) END AS DECIMAL(18, 2)) AS outstanding,
    CASE WHEN d.posted AND s.number IS NOT NULL THEN s.payment_due_date
         ELSE d.invoice_due_date END AS due_date,
    d.currency_code,
    d.total_in_currency,
    d.net_total_in_currency,
    -- the date it was fully paid (allocated, for a credit note); none while anything is owed
    CASE WHEN d.posted AND s.status = 'paid' THEN s.paid_date END AS paid_date
FROM documents AS d
JOIN staging.customer_accounts AS a ON a.account_reference = d.account AND a.deleted_at IS NULL
LEFT JOIN status AS s
    ON s.number = d.number AND s.type = d.audit_type AND d.posted
