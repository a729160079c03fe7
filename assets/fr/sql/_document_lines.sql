-- Every line with its document (the documents of the layout's types only). A line is deleted
-- from the earlier of its own and its document's deletion.
SELECT d.*, l.* EXCLUDE (numero, deleted_at),
       CASE WHEN d.deleted_at IS NULL THEN l.deleted_at
            WHEN l.deleted_at IS NULL THEN d.deleted_at
            ELSE least(d.deleted_at, l.deleted_at) END AS line_deleted_at
FROM (${documents}) AS d
JOIN (${lines}) AS l ON l.numero = d.numero
