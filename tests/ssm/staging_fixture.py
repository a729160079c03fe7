"""A small hand-made warehouse: the `staging` and `derived` columns the desired-state SQL reads.

Twelve customers (reps: Alice Carter, Ben Hughes, none, and one no SSM user matches), eight
contacts, three categories, ten products (one untracked, one inactive), one named price list
with six prices and one customer's special price, four orders with eight lines (and a
quotation with two lines, never pushed), four invoices and two credit notes.

Table and column names and types are the real ones (`assets/staging/catalogue.py`,
`assets/derived/catalogue.py`, checked by `test_fixture_uses_real_tables_and_columns`); only the
columns the push reads are filled. The `derived` rows are written by hand from the staging rows
(free stock = in stock - allocated; payment status from the outstanding amount), not computed
by the derived SQL, so the push is tested against values checked by hand.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

STAGING_SQL = """
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS derived;
CREATE OR REPLACE TABLE staging.customer_accounts AS
SELECT
    printf('CUST%03d', i) AS account_reference,
    printf('Customer %d Ltd', i) AS company_name,
    printf('%d High Street', i) AS address_line_1,
    NULL::VARCHAR AS address_line_2,
    'Leeds' AS address_line_3,
    'West Yorkshire' AS address_line_4,
    printf('LS%d 1AA', i) AS postcode,
    CASE WHEN i % 4 = 0 THEN 'IE' ELSE 'GB' END AS country_code,
    printf('0113 496 %04d', i) AS telephone,
    NULL::VARCHAR AS fax,
    printf('accounts@customer%d.example', i) AS email,
    printf('https://customer%d.example', i) AS website,
    printf('GB%09d', i) AS vat_registration_number,
    NULL::VARCHAR AS analysis_1,
    CASE i % 4 WHEN 1 THEN 'Alice Carter' WHEN 2 THEN 'Ben Hughes' WHEN 3 THEN NULL
               ELSE 'Dora Unmatched' END AS analysis_2,
    NULL::VARCHAR AS analysis_3,
    CAST(i * 100.25 AS DECIMAL(18, 2)) AS balance,
    CAST(5000 AS DECIMAL(18, 2)) AS credit_limit,
    i = 7 AS on_stop,
    DATE '2024-03-01'+ CAST(i AS INTEGER) AS last_invoice_date,
    DATE '2024-02-01'+ CAST(i AS INTEGER) AS last_receipt_date,
    30 AS payment_due_days,
    CAST(2.5 AS DECIMAL(9, 4)) AS settlement_discount,
    CASE WHEN i % 4 = 0 THEN 'EUR' ELSE 'GBP' END AS currency_code,
    CASE WHEN i <= 3 THEN 'TRADE' END AS price_list,
    FALSE AS closed_inactive,
    -- CUST002: payment due in 30 days, 10 settlement days, 5 % overall discount, discount
    -- type 1; the euro customers (i % 4 = 0): rate 1.17, VAT code T4 overriding the products'
    CAST(CASE WHEN i % 2 = 0 THEN 10 ELSE 0 END AS SMALLINT) AS settlement_days,
    CAST(CASE WHEN i = 2 THEN 5 ELSE 0 END AS DECIMAL(9, 4)) AS overall_discount,
    CASE WHEN i % 4 = 0 THEN 'T4' ELSE 'T1' END AS default_tax_code,
    CAST(CASE WHEN i = 2 THEN 1 ELSE 0 END AS SMALLINT) AS discount_type,
    i % 4 = 0 AS override_tax_code,
    CAST(CASE WHEN i % 4 = 0 THEN 1.17 ELSE 1 END AS DECIMAL(18, 6)) AS currency_rate,
    NULL::TIMESTAMP AS deleted_at
FROM range(1, 13) t(i);

CREATE OR REPLACE TABLE staging.contacts AS
SELECT
    printf('CUST%03d', i) AS account_reference,
    CAST(i AS INTEGER) AS address_ref,
    CASE WHEN i = 8 THEN 'Madonna' ELSE printf('Contact%d Person', i) END AS contact_name,
    NULL::VARCHAR AS name,
    printf('contact%d@customer%d.example', i, i) AS email,
    '0113 000 0000' AS telephone,
    NULL::VARCHAR AS telephone_2,
    NULL::VARCHAR AS fax,
    NULL::TIMESTAMP AS deleted_at
FROM range(1, 9) t(i);

CREATE OR REPLACE TABLE staging.product_categories AS
SELECT CAST(i AS VARCHAR) AS category_code, printf('Category %d', i) AS category_description,
       NULL::TIMESTAMP AS deleted_at
FROM range(1, 4) t(i);

CREATE OR REPLACE TABLE staging.product_items AS
SELECT
    printf('PROD%03d', i) AS product_reference,
    printf('Widget %d', i) AS description,
    CAST(1 + i % 3 AS VARCHAR) AS product_category,
    CAST(i * 10 + 0.99 AS DECIMAL(18, 4)) AS sales_price,
    i <> 9 AS is_stocked,
    i = 10 AS inactive_flag,
    'T1' AS tax_code,
    printf('50000000%04d', i) AS barcode,
    CAST(0.5 AS DECIMAL(18, 4)) AS unit_weight,
    -- costs: average i * 4 + 0.5, last purchase i * 5, after the supplier's discount i * 4.5
    CAST(i * 4 + 0.5 AS DECIMAL(18, 4)) AS average_cost_price,
    CAST(i * 5 AS DECIMAL(18, 4)) AS last_purchase_price,
    CAST(i * 4.5 AS DECIMAL(18, 4)) AS last_discounted_purchase_price,
    CASE WHEN i = 1 THEN 'widget1.jpg' END AS web_image_file,
    NULL::TIMESTAMP AS deleted_at
FROM range(1, 11) t(i);

-- Free stock = (100 + i) in stock - i allocated = 100; PROD009 is not stocked: no figure.
CREATE OR REPLACE TABLE derived.stock AS
SELECT printf('PROD%03d', i) AS product_reference,
       i <> 9 AS is_stocked,
       CASE WHEN i <> 9 THEN CAST(100 + CAST(i AS INTEGER) AS DECIMAL(18, 4)) END AS physical_stock,
       CASE WHEN i <> 9 THEN CAST(100 AS DECIMAL(19, 4)) END AS free_stock,
       CASE WHEN i <> 9 THEN CAST(i AS DECIMAL(18, 4)) END AS quantity_allocated,
       NULL::TIMESTAMP AS deleted_at
FROM range(1, 11) t(i);

CREATE OR REPLACE TABLE staging.vat_rates AS
SELECT 'T1' AS tax_code, CAST(20 AS DECIMAL(9, 4)) AS tax_rate, NULL::TIMESTAMP AS deleted_at;

CREATE OR REPLACE TABLE staging.price_list_metadata AS
SELECT 'P' AS type, 'TRADE' AS pricing_reference, 'Trade prices' AS name, FALSE AS deleted,
       NULL::TIMESTAMP AS deleted_at;

-- Units per pound (CURRENCY.RATE): a list price sells to a customer in another currency at
-- price / rate(list) x rate(customer).
CREATE OR REPLACE TABLE staging.currencies AS
SELECT * FROM (VALUES ('GBP', CAST(1 AS DECIMAL(18, 6)), TRUE, NULL::TIMESTAMP),
                      ('EUR', CAST(1.17 AS DECIMAL(18, 6)), FALSE, NULL::TIMESTAMP))
    AS v(currency_code, exchange_rate, home_currency, deleted_at);

-- TRADE sells PROD00i at 9 * i; CUST001 (on TRADE) has a special price of 5 for PROD001, so
-- its own rate SPECIAL:CUST001 holds 5 for PROD001 and TRADE's 18 ... 54 for PROD002-PROD006.
CREATE OR REPLACE TABLE derived.price_lists AS
SELECT 'P' AS type, 'TRADE' AS price_list_code, printf('PROD%03d', i) AS product_reference,
       'GBP' AS currency_code,
       CAST(i * 9 AS DECIMAL(18, 4)) AS selling_price, 'stored' AS price_source,
       NULL::TIMESTAMP AS deleted_at
FROM range(1, 7) t(i)
UNION ALL  -- a customer's special price (type S), in the customer's currency
SELECT 'S', 'CUST001', 'PROD001', 'GBP', CAST(5 AS DECIMAL(18, 4)), 'stored', NULL;

-- Order i: lines 1 and 2 of net 20 and 30 (below), carriage net 100 * i - 50; tax 20%.
-- GBP orders: the order-currency totals equal the base ones.
CREATE OR REPLACE TABLE derived.sales_order_totals AS
SELECT CAST(i AS INTEGER) AS order_number_accounts_id,
       CAST(100 * i AS DECIMAL(18, 2)) AS base_net_value,
       CAST(20 * i AS DECIMAL(18, 2)) AS base_tax_value,
       CAST(120 * i AS DECIMAL(18, 2)) AS base_gross_value,
       CAST(100 * i AS DECIMAL(18, 2)) AS foreign_net_value,
       CAST(20 * i AS DECIMAL(18, 2)) AS foreign_tax_value,
       CAST(120 * i AS DECIMAL(18, 2)) AS foreign_gross_value,
       'GBP' AS currency_code, NULL::TIMESTAMP AS deleted_at
FROM range(1, 6) t(i);

-- Orders 1-4 are sales orders; order 5 is a quotation, which is never pushed (quotations
-- come from SSM through the reverse flow), nor are its lines. Sage's own totals of each order
-- are the ones above (lines + carriage).
CREATE OR REPLACE TABLE staging.sales_order_headers AS
SELECT CAST(i AS INTEGER) AS order_number_accounts_id,
       DATE '2024-04-01'+ CAST(i AS INTEGER) AS order_date,
       printf('CUST%03d', i) AS customer_account, printf('PO-%d', i) AS customer_order_reference,
       CASE WHEN i = 5 THEN 'Quotation' ELSE 'Sales Order' END AS order_type,
       CAST(CASE WHEN i = 5 THEN 1 ELSE 0 END AS SMALLINT) AS order_type_code,
       'GBP' AS currency_code,
       t.base_net_value AS sage_net_value_base, t.base_tax_value AS sage_tax_value_base,
       t.base_gross_value AS sage_gross_value_base,
       t.foreign_net_value AS sage_net_value_foreign,
       t.foreign_tax_value AS sage_tax_value_foreign,
       t.foreign_gross_value AS sage_gross_value_foreign,
       NULL::TIMESTAMP AS deleted_at
FROM range(1, 6) r(i) JOIN derived.sales_order_totals t ON t.order_number_accounts_id = i
ORDER BY i;

CREATE OR REPLACE TABLE staging.sales_order_lines AS
SELECT CAST(o AS INTEGER) AS order_number, CAST(l AS SMALLINT) AS line_number, printf('PROD%03d', o + l) AS product_reference,
       printf('Widget %d', o + l) AS product_description,
       CAST(l + 1 AS DECIMAL(18, 4)) AS quantity_ordered,
       CAST(10 AS DECIMAL(18, 4)) AS unit_price_foreign,
       CAST(10 * (l + 1) AS DECIMAL(18, 2)) AS line_net_amount_foreign,
       CAST(0 AS DECIMAL(9, 4)) AS discount_rate, NULL::TIMESTAMP AS deleted_at
FROM range(1, 6) a(o), range(1, 3) b(l);

CREATE OR REPLACE TABLE staging.posted_sales_invoices AS
SELECT 1000 + CAST(i AS INTEGER) AS invoice_number, DATE '2024-05-01' + CAST(i AS INTEGER) AS invoice_date,
       printf('CUST%03d', i) AS account_reference,
       CAST(50 * i AS DECIMAL(18, 2)) AS total_net, CAST(60 * i AS DECIMAL(18, 2)) AS total_gross,
       DATE '2024-05-31'+ CAST(i AS INTEGER) AS payment_due_date,
       -- in the document's currency: GBP, as the base (the EUR invoice is added by a test)
       'GBP' AS currency_code,
       CAST(50 * i AS DECIMAL(18, 2)) AS total_net_foreign,
       CAST(60 * i AS DECIMAL(18, 2)) AS total_gross_foreign,
       NULL::TIMESTAMP AS deleted_at
FROM range(1, 4) t(i);

CREATE OR REPLACE TABLE staging.unposted_sales_invoices AS
SELECT 2001 AS invoice_number, DATE '2024-06-01' AS invoice_date, 'CUST005' AS account_reference,
       CAST(10 AS DECIMAL(18, 2)) AS total_net, CAST(12 AS DECIMAL(18, 2)) AS total_gross,
       DATE '2024-07-01' AS payment_due_date, 'GBP' AS currency_code,
       CAST(10 AS DECIMAL(18, 2)) AS total_net_foreign,
       CAST(12 AS DECIMAL(18, 2)) AS total_gross_foreign, NULL::TIMESTAMP AS deleted_at;

CREATE OR REPLACE TABLE staging.posted_sales_credits AS
SELECT 3000 + CAST(i AS INTEGER) AS invoice_number_credit_note_no, DATE '2024-06-10' AS credit_date,
       printf('CUST%03d', i) AS account_reference,
       CAST(5 AS DECIMAL(18, 2)) AS total_net, CAST(6 AS DECIMAL(18, 2)) AS total_gross,
       NULL::DATE AS payment_due_date, 'GBP' AS currency_code,
       CAST(5 AS DECIMAL(18, 2)) AS total_net_foreign,
       CAST(6 AS DECIMAL(18, 2)) AS total_gross_foreign, NULL::TIMESTAMP AS deleted_at
FROM range(1, 3) t(i);

-- Audit-trail status of the posted documents: 1001 paid (60 of 60), 1002 part-paid (20 of
-- 120 outstanding); 1003 has no audit entry (unpaid, all 180 outstanding); credit note 3001
-- is allocated (paid), 3002 is not (6 outstanding). No row for the unposted 2001.
CREATE OR REPLACE TABLE derived.invoice_payment_status AS
SELECT header_number, source, invoice_number, invoice_number_numeric, type, status,
       CAST(outstanding_amount AS DECIMAL(18, 2)) AS outstanding_amount, payment_due_date,
       CAST(gross_amount AS DECIMAL(18, 2)) AS gross_amount,
       CAST(amount_paid AS DECIMAL(18, 2)) AS amount_paid, paid_date
FROM (VALUES
    (11, 'audit_trail', '1001', 1001, 'SI', 'paid', 0.00, DATE '2024-06-01', 60.00, 60.00,
     DATE '2024-05-20'),
    (12, 'audit_trail', '1002', 1002, 'SI', 'part-paid', 20.00, DATE '2024-06-02', 120.00,
     100.00, NULL),
    (31, 'audit_trail', '3001', 3001, 'SC', 'paid', 0.00, NULL, 6.00, 6.00, DATE '2024-06-12'),
    (32, 'audit_trail', '3002', 3002, 'SC', 'unpaid', 6.00, NULL, 6.00, 0.00, NULL)
) AS v(header_number, source, invoice_number, invoice_number_numeric, type, status,
       outstanding_amount, payment_due_date, gross_amount, amount_paid, paid_date);
"""


def make_staging(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(STAGING_SQL)
    finally:
        con.close()


def add_orders(path: Path, first: int, orders: int, lines: int) -> None:
    """`orders` more sales orders, numbered from `first`, each of `lines` lines (products
    PROD002..PROD009, net 10 a line) for customers CUST001..CUST012 in turn: lines enough to
    fill bulk batches and list pages."""
    numbers = {"first": first, "last": first + orders, "lines": lines}
    con = duckdb.connect(str(path))
    try:
        con.execute(
            """
            INSERT INTO staging.sales_order_headers
            SELECT CAST(i AS INTEGER), DATE '2024-04-01', printf('CUST%03d', 1 + i % 12),
                   printf('PO-%d', i), 'Sales Order', CAST(0 AS SMALLINT), 'GBP',
                   10 * $lines, 2 * $lines, 12 * $lines, 10 * $lines, 2 * $lines, 12 * $lines,
                   NULL
            FROM range($first, $last) t(i)
            """,
            numbers,
        )
        con.execute(
            """
            INSERT INTO derived.sales_order_totals
            SELECT CAST(i AS INTEGER), 10 * $lines, 2 * $lines, 12 * $lines, 10 * $lines,
                   2 * $lines, 12 * $lines, 'GBP', NULL
            FROM range($first, $last) t(i)
            """,
            numbers,
        )
        con.execute(
            """
            INSERT INTO staging.sales_order_lines
            SELECT CAST(o AS INTEGER), CAST(l AS SMALLINT), printf('PROD%03d', 1 + l % 8),
                   printf('Widget %d', 1 + l % 8), 1, 10, 10, 0, NULL
            FROM range($first, $last) a(o), range(1, $lines + 1) b(l)
            """,
            numbers,
        )
    finally:
        con.close()
