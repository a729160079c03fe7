"""Sage 50 FR (ex-Ciel) as a source: its export files, read into `sage_fr.*`, then `staging`.

`layout.yaml` declares the files (kinds, column titles, types, what each fills); `reader.py` reads
one file, `folder.py` says which files are complete, `warehouse.py` loads a file in one
transaction with its ledger row, `staging.py` builds the edition-neutral staging sections from
`sql/`, and `assets.py` makes them Dagster assets (pipelines/sage_fr.py adds the sensor).
"""
