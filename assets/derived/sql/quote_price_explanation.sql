-- Every live line of every Sage quotation, priced again by Sage 50 UK's rules as
-- resources/sage/pricing.py writes them down, written here independently of that Python: it is
-- the check on what Sage put on the line. Only the quote flow's quotes (CUST_ORDER_NUMBER
-- 'SSM:<id>') are judged: one keyed by hand in Sage carries whatever price was typed.
-- `{filter}` is the company's switches (PricingRules as one row; see the catalogue entry).
-- Money stays DECIMAL (multiplying by 0.01, never dividing) so half-up rounding is exact.
WITH rules AS (
    {filter}
),
rates AS (
    -- CURRENCY.RATE: units of the currency per 1 base unit; the base currency is 1.
    SELECT accounts_id AS number, currency_code,
           CASE WHEN home_currency THEN CAST(1 AS DECIMAL(18, 6)) ELSE exchange_rate END AS rate,
           home_currency
    FROM staging.currencies
    WHERE deleted_at IS NULL
),
base AS (
    SELECT currency_code, rate FROM rates WHERE home_currency ORDER BY number LIMIT 1
),
quote_lines AS (
    SELECT
        h.order_number_accounts_id AS order_number,
        l.line_number,
        h.customer_account AS account_reference,
        l.product_reference AS stock_code,
        l.quantity_ordered AS quantity,
        l.unit_price_foreign AS sage_unit_price,
        l.discount_rate AS sage_discount_percent,
        round(l.quantity_ordered * l.unit_price_foreign, 2) - l.line_net_amount_foreign
            AS sage_discount_amount,
        l.line_net_amount_foreign AS sage_net,
        l.line_tax_amount_foreign AS sage_tax,
        -- the marker the quote flow writes (assets.ssm.settings.QUOTE_MARKER)
        coalesce(h.customer_order_reference LIKE 'SSM:%', FALSE) AS from_quote_flow
    FROM staging.sales_order_headers AS h
    JOIN staging.sales_order_lines AS l ON l.order_number = h.order_number_accounts_id
    WHERE h.deleted_at IS NULL AND l.deleted_at IS NULL
      AND lower(trim(h.order_type)) = 'quotation'
),
lines AS (
    -- known account and product only
    SELECT
        q.*,
        nullif(trim(c.price_list), '') AS price_list,
        coalesce(c.discount_type, 0) AS discount_type,
        coalesce(c.overall_discount, 0) AS customer_discount,
        c.default_tax_code,
        coalesce(c.override_tax_code, FALSE) AS override_tax_code,
        coalesce(cc.currency_code, b.currency_code) AS currency_code,
        CASE WHEN c.currency_code IS NULL THEN b.rate ELSE cc.rate END AS customer_rate,
        p.sales_price,
        p.last_purchase_price,
        p.average_cost_price,
        p.tax_code AS product_tax_code
    FROM quote_lines AS q
    JOIN staging.customer_accounts AS c
        ON c.account_reference = q.account_reference AND c.deleted_at IS NULL
    JOIN staging.product_items AS p
        ON p.product_reference = q.stock_code AND p.deleted_at IS NULL
    LEFT JOIN rates AS cc ON cc.currency_code = c.currency_code
    LEFT JOIN base AS b ON TRUE
),
candidates AS (
    -- 1: the customer's special price (in the customer's currency)
    SELECT l.order_number, l.line_number, 1 AS priority, 'special_price' AS rule,
           pr.calculation_method, pr.calculation_value, pr.stored_price, pr.rounding_method,
           pr.rounding_direction, pr.rounding_multiple_of, pr.rounding_adjustment,
           FALSE AS static_list, l.currency_code AS list_currency_code,
           l.customer_rate AS list_rate
    FROM lines AS l
    JOIN staging.price_records AS pr
        ON pr.type = 'S' AND NOT pr.deleted
       AND upper(trim(pr.pricing_reference)) = upper(trim(l.account_reference))
       AND upper(trim(pr.stock_code)) = upper(trim(l.stock_code))
    UNION ALL
    -- 2: the customer's price list, if the list exists (in the list's currency)
    SELECT l.order_number, l.line_number, 2, 'price_list',
           pr.calculation_method, pr.calculation_value, pr.stored_price, pr.rounding_method,
           pr.rounding_direction, pr.rounding_multiple_of, pr.rounding_adjustment,
           coalesce(m.has_static_prices, FALSE),
           CASE WHEN coalesce(m.currency, 0) = 0 THEN b.currency_code ELSE lc.currency_code END,
           CASE WHEN coalesce(m.currency, 0) = 0 THEN b.rate ELSE lc.rate END
    FROM lines AS l
    JOIN staging.price_records AS pr
        ON pr.type = 'P' AND NOT pr.deleted
       AND upper(trim(pr.pricing_reference)) = upper(l.price_list)
       AND upper(trim(pr.stock_code)) = upper(trim(l.stock_code))
    JOIN staging.price_list_metadata AS m
        ON m.type = 'P' AND m.pricing_reference = pr.pricing_reference AND NOT m.deleted
    LEFT JOIN rates AS lc ON lc.number = m.currency
    LEFT JOIN base AS b ON TRUE
),
chosen AS (
    SELECT * FROM candidates
    QUALIFY row_number() OVER (PARTITION BY order_number, line_number ORDER BY priority) = 1
),
listed AS (
    -- the price in its list's currency (before the PRICE row's rounding)
    SELECT
        l.*,
        coalesce(ch.rule, 'sales_price') AS rule,
        ch.calculation_method AS calc_method,
        ch.calculation_value AS v,
        ch.stored_price,
        ch.static_list,
        ch.rounding_method,
        ch.rounding_direction,
        ch.rounding_multiple_of,
        ch.rounding_adjustment,
        CASE WHEN ch.rule IS NULL THEN b.currency_code ELSE ch.list_currency_code END
            AS list_currency_code,
        CASE WHEN ch.rule IS NULL THEN b.rate ELSE ch.list_rate END AS list_rate,
        CASE WHEN r.cost_price = 'average_cost_price' THEN l.average_cost_price
             ELSE l.last_purchase_price END AS cost
    FROM lines AS l
    LEFT JOIN chosen AS ch USING (order_number, line_number)
    LEFT JOIN base AS b ON TRUE
    CROSS JOIN rules AS r
),
calculated AS (
    SELECT
        li.*,
        -- methods 1-6 work in the base currency, then times the list currency's rate
        li.calc_method BETWEEN 1 AND 6 AND NOT li.static_list AND li.rule <> 'sales_price'
            AS is_calculated,
        CAST(li.list_rate * CASE li.calc_method
            WHEN 1 THEN li.sales_price
            WHEN 2 THEN li.sales_price * (1 - li.v * 0.01)
            WHEN 3 THEN li.sales_price - li.v
            WHEN 4 THEN li.cost * (1 + li.v * 0.01)
            WHEN 5 THEN li.cost + li.v
            WHEN 6 THEN li.sales_price * (1 + li.v * 0.01)
        END AS DECIMAL(24, 10)) AS formula_price,
        -- ROUNDER_* through the settings' code mapping; a multiple of 0 does not round
        CASE
            WHEN list_contains(r.rounder_decimal_places, li.rounding_method)
                THEN CAST(CASE CAST(li.rounding_multiple_of AS INTEGER)
                    WHEN 0 THEN 1 WHEN 1 THEN 0.1 WHEN 2 THEN 0.01 WHEN 3 THEN 0.001
                    WHEN 4 THEN 0.0001 END AS DECIMAL(18, 6))
            WHEN list_contains(r.rounder_multiple_of, li.rounding_method)
                 AND li.rounding_multiple_of > 0
                THEN CAST(li.rounding_multiple_of AS DECIMAL(18, 6))
        END AS rounder_step,
        CASE
            WHEN list_contains(r.rounder_up, li.rounding_direction) THEN 'up'
            WHEN list_contains(r.rounder_nearest, li.rounding_direction) THEN 'nearest'
            WHEN list_contains(r.rounder_down, li.rounding_direction) THEN 'down'
        END AS rounder_direction
    FROM listed AS li
    CROSS JOIN rules AS r
),
list_priced AS (
    SELECT
        c.*,
        CAST(CASE
            WHEN c.rule = 'sales_price' THEN c.sales_price
            WHEN c.static_list THEN c.stored_price
            WHEN c.calc_method = 0 AND r.fixed_price_from = 'calc_value' THEN c.v
            WHEN NOT c.is_calculated THEN c.stored_price  -- fixed, or an unknown method
            WHEN c.rounder_step IS NULL OR c.rounder_direction IS NULL THEN c.formula_price
            -- steps of the multiple: a whole number of them, so the DOUBLE quotient is exact
            -- enough; the result back in DECIMAL so every branch stays exact
            ELSE CAST(c.rounder_step * CAST(CASE c.rounder_direction
                    WHEN 'up' THEN ceil(c.formula_price / c.rounder_step)
                    WHEN 'down' THEN floor(c.formula_price / c.rounder_step)
                    ELSE round(c.formula_price / c.rounder_step, 0)
                END AS BIGINT) + c.rounding_adjustment AS DECIMAL(24, 10))
        END AS DECIMAL(24, 10)) AS list_currency_price
    FROM calculated AS c
    CROSS JOIN rules AS r
),
converted AS (
    SELECT
        lp.*,
        CAST(CASE
            WHEN lp.list_currency_code = lp.currency_code THEN lp.list_currency_price
            -- a base-currency price: times the customer's rate (exact)
            WHEN lp.list_rate = 1 THEN lp.list_currency_price * lp.customer_rate
            ELSE CAST(lp.list_currency_price / lp.list_rate * lp.customer_rate
                      AS DECIMAL(24, 10))
        END AS DECIMAL(24, 10)) AS customer_price
    FROM list_priced AS lp
),
unit_priced AS (
    SELECT
        cv.*,
        -- round() takes constant places only: to the unit d.p. as whole steps (x unit_scale,
        -- 0 places, x unit_step), exact in DECIMAL
        CAST(round(cv.customer_price * r.unit_scale, 0) * r.unit_step AS DECIMAL(18, 6)) AS unit,
        cv.discount_type BETWEEN 2 AND 6 AND (
            cv.rule = 'sales_price'
            OR (cv.rule = 'special_price' AND r.discounts_on_special_prices)
            OR (cv.rule = 'price_list' AND r.discounts_on_price_list_prices)
        ) AS quantity_table_applies,
        CAST(CASE WHEN cv.rule = 'sales_price' OR r.customer_discount_on_all_prices
             THEN cv.customer_discount ELSE 0 END AS DECIMAL(9, 4)) AS customer_discount_percent,
        CASE WHEN r.tax_code_from = 'customer'
                  OR (r.tax_code_from = 'override_flag' AND cv.override_tax_code)
             THEN cv.default_tax_code ELSE cv.product_tax_code END AS tax_code
    FROM converted AS cv
    CROSS JOIN rules AS r
),
levels AS (
    SELECT discount_matrix_product_ref AS stock_code, discount_group AS discount_table,
           unnest([
               {'level': 1, 'quantity': quantity_break_1, 'rate': discount_rate_1},
               {'level': 2, 'quantity': quantity_break_2, 'rate': discount_rate_2},
               {'level': 3, 'quantity': quantity_break_3, 'rate': discount_rate_3},
               {'level': 4, 'quantity': quantity_break_4, 'rate': discount_rate_4},
               {'level': 5, 'quantity': quantity_break_5, 'rate': discount_rate_5},
               {'level': 6, 'quantity': quantity_break_6, 'rate': discount_rate_6},
               {'level': 7, 'quantity': quantity_break_7, 'rate': discount_rate_7},
               {'level': 8, 'quantity': quantity_break_8, 'rate': discount_rate_8},
               {'level': 9, 'quantity': quantity_break_9, 'rate': discount_rate_9},
               {'level': 10, 'quantity': quantity_break_10, 'rate': discount_rate_10}
           ], recursive := TRUE)
    FROM staging.discount_matrix
    WHERE deleted_at IS NULL
),
quantity_breaks AS (
    -- the used level (QTY > 0) with the largest QTY <= the quantity; the later level on a tie
    SELECT u.order_number, u.line_number, lv.rate AS quantity_discount_percent
    FROM unit_priced AS u
    JOIN levels AS lv
        ON lv.stock_code = u.stock_code
       AND lv.discount_table = substr('ABCDE', u.discount_type - 1, 1)
    WHERE u.quantity_table_applies AND lv.quantity > 0 AND lv.quantity <= u.quantity
    QUALIFY row_number() OVER (
        PARTITION BY u.order_number, u.line_number ORDER BY lv.quantity DESC, lv.level DESC
    ) = 1
),
discounted AS (
    SELECT
        u.*,
        CAST(CASE WHEN u.quantity_table_applies THEN coalesce(qb.quantity_discount_percent, 0)
             ELSE 0 END AS DECIMAL(9, 4)) AS quantity_discount_percent,
        CAST(round(u.unit * u.quantity, 2) AS DECIMAL(18, 2)) AS full_net,
        r.discount_by_unit_price,
        r.unit_scale,
        r.unit_step
    FROM unit_priced AS u
    LEFT JOIN quantity_breaks AS qb USING (order_number, line_number)
    CROSS JOIN rules AS r
),
netted AS (
    SELECT
        d.*,
        d.quantity_discount_percent + d.customer_discount_percent AS discount_percent,
        CASE WHEN d.discount_by_unit_price THEN
            -- (unit - unit discount rounded to the unit d.p., as `unit` is) x quantity
            round((d.unit - round(d.unit * (d.quantity_discount_percent
                                            + d.customer_discount_percent) * 0.01 * d.unit_scale, 0)
                            * d.unit_step) * d.quantity, 2)
        ELSE
            d.full_net - round(d.full_net * (d.quantity_discount_percent
                                             + d.customer_discount_percent) * 0.01, 2)
        END AS net_unrounded
    FROM discounted AS d
),
taxed AS (
    SELECT
        n.*,
        vr.tax_rate,
        round(n.net * vr.tax_rate * 0.01, 2) AS tax
    FROM (SELECT *, CAST(net_unrounded AS DECIMAL(18, 2)) AS net FROM netted) AS n
    LEFT JOIN (
        SELECT * FROM staging.vat_rates WHERE deleted_at IS NULL
        QUALIFY row_number() OVER (PARTITION BY tax_code ORDER BY tax_code_id) = 1
    ) AS vr ON upper(trim(vr.tax_code)) = upper(trim(n.tax_code))
)
SELECT
    order_number,
    line_number,
    account_reference,
    stock_code,
    quantity,
    currency_code,
    rule,
    CASE WHEN rule = 'sales_price' THEN NULL ELSE calc_method END AS calc_method,
    CAST(unit AS DECIMAL(18, 4)) AS list_unit_price,
    CAST(quantity_discount_percent AS DECIMAL(9, 4)) AS quantity_discount_percent,
    CAST(customer_discount_percent AS DECIMAL(9, 4)) AS customer_discount_percent,
    CAST(discount_percent AS DECIMAL(9, 4)) AS expected_discount_percent,
    CAST(unit AS DECIMAL(18, 4)) AS expected_unit_price,
    CAST(full_net - net AS DECIMAL(18, 2)) AS expected_discount_amount,
    CAST(net AS DECIMAL(18, 2)) AS expected_net,
    tax_code,
    tax_rate,
    CAST(tax AS DECIMAL(18, 2)) AS expected_tax,
    sage_unit_price,
    sage_discount_percent,
    sage_discount_amount,
    sage_net,
    sage_tax,
    from_quote_flow,
    -- judged: the quote flow's lines, except under an invoice-value discount (DISCOUNT_TYPE 1,
    -- not modelled)
    CASE WHEN discount_type = 1 OR NOT from_quote_flow THEN NULL ELSE
        abs(unit - sage_unit_price) <= 0.01
        AND abs(discount_percent - coalesce(sage_discount_percent, 0)) <= 0.01
        AND abs(net - sage_net) <= 0.01
        AND abs(tax - sage_tax) <= 0.01
    END AS matches,
    replace(rule, '_', ' ')
        || CASE rule
            WHEN 'special_price' THEN ' for ' || account_reference
            WHEN 'price_list' THEN ' ' || price_list
            ELSE '' END
        || CASE
            WHEN rule = 'sales_price' THEN ''
            WHEN static_list THEN ' (stored price of a static list)'
            ELSE ' (CALC_METHOD ' || calc_method || ')' END
        || CASE WHEN list_currency_code <> currency_code
                THEN ' in ' || list_currency_code || ' converted to ' || currency_code
                ELSE '' END
        || ' gives ' || CAST(CAST(unit AS DECIMAL(18, 2)) AS VARCHAR) || ' ' || currency_code
        || CASE WHEN discount_type BETWEEN 2 AND 6 AND NOT quantity_table_applies
                THEN '; no quantity discount on a ' || replace(rule, '_', ' ')
                WHEN quantity_discount_percent <> 0
                THEN '; quantity discount ' || substr('ABCDE', discount_type - 1, 1) || ' '
                     || CAST(quantity_discount_percent AS DOUBLE) || '%'
                ELSE '' END
        || CASE WHEN customer_discount_percent <> 0
                THEN '; customer discount ' || CAST(customer_discount_percent AS DOUBLE) || '%'
                ELSE '' END
        || CASE WHEN discount_type = 1 THEN '; invoice-value discount not modelled' ELSE '' END
        || '; net ' || CAST(CAST(net AS DECIMAL(18, 2)) AS VARCHAR)
        || ', ' || coalesce(tax_code, '?') || ' VAT ' || coalesce(CAST(CAST(tax AS DECIMAL(18, 2)) AS VARCHAR), '?')
        AS explanation
FROM taxed
