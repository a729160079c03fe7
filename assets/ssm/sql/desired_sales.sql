-- Invoices (posted and unposted) and posted credit notes as SSM sales, one per document, with
-- the amount outstanding from the audit trail (a credit note's total is negative).
WITH documents AS (
    SELECT invoice_number AS number, 'Invoice' AS document_type, TRUE AS posted,
           any_value(invoice_date) AS document_date, any_value(account_reference) AS account,
           any_value(total_net) AS net_total, any_value(total_gross) AS total,
           any_value(payment_due_date) AS due_date
    FROM staging.posted_sales_invoices WHERE deleted_at IS NULL GROUP BY invoice_number
    UNION ALL
    SELECT invoice_number, 'Invoice', FALSE, any_value(invoice_date), any_value(account_reference),
           any_value(total_net), any_value(total_gross), any_value(payment_due_date)
    FROM staging.unposted_sales_invoices WHERE deleted_at IS NULL GROUP BY invoice_number
    UNION ALL
    SELECT invoice_number_credit_note_no, 'Credit Note', TRUE, any_value(credit_date),
           any_value(account_reference), -any_value(total_net), -any_value(total_gross),
           any_value(payment_due_date)
    FROM staging.posted_sales_credits WHERE deleted_at IS NULL
    GROUP BY invoice_number_credit_note_no
),
audit AS (
    SELECT trim(invoice_number) AS number, sum(outstanding) AS outstanding
    FROM staging.sales_payments
    WHERE deleted_at IS NULL AND NOT coalesce(deleted, FALSE) AND type IN ('SI', 'SC')
    GROUP BY ALL
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
        WHEN coalesce(au.outstanding, abs(d.total)) = 0 THEN 'Paid'
        WHEN coalesce(au.outstanding, abs(d.total)) < abs(d.total) THEN 'Part paid'
        ELSE 'Unpaid'
    END AS payment_status,
    CAST(coalesce(au.outstanding, abs(d.total)) AS DECIMAL(18, 2)) AS outstanding,
    d.due_date
FROM documents AS d
JOIN staging.customer_accounts AS a ON a.account_reference = d.account AND a.deleted_at IS NULL
LEFT JOIN audit AS au ON au.number = CAST(d.number AS VARCHAR)
