-- The lines of the pieces file (L rows). The line's TVA is its net amount times its rate,
-- rounded per line; its gross the sum of both.
SELECT
    l.numero,
    l.ligne,
    l.code_article,
    l.designation,
    quantity(l.quantite) AS quantity,
    unit_price(l.pu_ht) AS unit_price,
    percent(coalesce(l.remise, 0)) AS discount_rate,
    money(l.montant_ht) AS line_net,
    money(money(l.montant_ht) * l.taux_tva / 100) AS line_tax,
    money(money(l.montant_ht) + money(money(l.montant_ht) * l.taux_tva / 100)) AS line_gross,
    l.deleted_at
FROM sage_fr.piece_lines AS l
