-- The documents of the pieces file (E rows) with what the layout's document types make of them:
-- `becomes` (invoice, credit, order, quote, delivery) and a number unique across types (the
-- piece number's digits plus the type's number_base). Totals as money; carriage 0 when absent.
SELECT
    p.numero,
    t.becomes,
    CAST(piece_number(p.numero) + t.base AS INTEGER) AS number,
    p.date_piece,
    p.code_client,
    p.date_echeance,
    p.ref_commande,
    coalesce(p.devise, ${currency}) AS currency_code,
    money(p.total_ht) AS total_net,
    money(p.total_tva) AS total_tax,
    money(p.total_ttc) AS total_gross,
    money(coalesce(p.port_ht, 0)) AS carriage_net,
    money(coalesce(p.port_tva, 0)) AS carriage_tax,
    money(coalesce(p.port_ht, 0) + coalesce(p.port_tva, 0)) AS carriage_gross,
    money(p.total_ht - coalesce(p.port_ht, 0)) AS items_net,
    money(p.total_tva - coalesce(p.port_tva, 0)) AS items_tax,
    money(p.total_ttc - coalesce(p.port_ht, 0) - coalesce(p.port_tva, 0)) AS items_gross,
    flag(p.comptabilisee) AS posted,
    p.soldee,
    p.reste_du,
    p.deleted_at
FROM sage_fr.pieces AS p
JOIN (VALUES ${document_types}) AS t(folded, becomes, base) ON t.folded = fold(p.type_piece)
