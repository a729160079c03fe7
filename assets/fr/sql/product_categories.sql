-- Familles d'articles, named from the articles that use them.
SELECT
    famille AS category_code,
    coalesce(any_value(libelle_famille), famille) AS category_description,
    CASE WHEN bool_and(deleted_at IS NOT NULL) THEN max(deleted_at) END AS deleted_at
FROM sage_fr.articles
WHERE famille IS NOT NULL
GROUP BY famille
