"""The demo dossier's Sage 50 FR at work: its import of the connector's files, and what a person
does in Sage (edit a record, convert a prospect, delete one), each reflected in the export files
the next export would write.

`import_files` plays Sage's "import paramétrable" on every import file of the folder, oldest
first, as the declared import layout says Sage reads it (assets/fr/imports.yaml): a client or
prospect whose code is new is created (a row without a code gets the next free code: Sage's own
numbering), one whose code exists is updated, a contact is created or updated by its client code,
nom and prénom; a devis is numbered (the next DE number) and priced, see `price_devis`. Each
file is then moved into `imported/` (what the demo's import does with a file
it imported) and the export files are written again, whole, beside and renamed into place.

python -m sandbox.sage_fr import [IMPORT_DIR] [EXPORT_DIR]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from assets.fr.imports import ImportLayout, load_imports
from assets.fr.layout import Layout, default_layout, fold
from sandbox.sage_fr.dossier import FILES, date_fr, encode, french, money

IMPORTED = "imported"
CODE_PREFIX = {"clients": "CL", "prospects": "PR"}


@dataclass
class Export:
    """One export file of the dossier: its column titles and rows (title -> text)."""

    kind: str
    titles: list[str]
    rows: list[dict[str, str]]

    def find(self, **by_title: str) -> dict[str, str] | None:
        return next(
            (
                r
                for r in self.rows
                if all(fold(r.get(t, "")) == fold(v) for t, v in by_title.items())
            ),
            None,
        )


def _parse(data: bytes, encoding: str, delimiter: str, quote: str) -> list[list[str]]:
    text = data.decode(encoding)
    return [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                                  quotechar=quote) if any(v.strip() for v in r)]  # fmt: skip


def read_export(folder: Path, kind: str, layout: Layout | None = None) -> Export:
    layout = layout or default_layout()
    records = _parse((folder / FILES[kind]).read_bytes(), layout.encoding, layout.delimiter,
                     layout.quote)  # fmt: skip
    titles = records[0]
    return Export(kind, titles, [dict(zip(titles, r, strict=False)) for r in records[1:]])


def write_export(folder: Path, export: Export, layout: Layout | None = None) -> Path:
    """The export file written again, whole: beside, then renamed into place."""
    layout = layout or default_layout()
    path = folder / FILES[export.kind]
    partial = path.with_suffix(".partial")
    partial.write_bytes(
        encode(
            [export.titles, *([r.get(t, "") for t in export.titles] for r in export.rows)], layout
        )  # fmt: skip
    )
    partial.replace(path)
    return path


def _title(layout: Layout, kind: str, name: str) -> str:
    return next(c.title for c in layout.kind(kind).tables[0].file_columns if c.name == name)


def _next_code(kind: str, *exports: Export, code_title: str) -> str:
    prefix = CODE_PREFIX[kind]
    numbers = [int(m.group(1)) for e in exports for r in e.rows
               if (m := re.fullmatch(rf"{prefix}(\d+)", r.get(code_title, "")))]  # fmt: skip
    return f"{prefix}{max(numbers, default=0) + 1:05d}"


@dataclass
class Imported:
    files: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # "clients CL00009", "contacts CL00009/…"
    updated: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # Sage's import report: "<what>: <why>"


# --- devis: the pieces export, its E and L rows ---------------------------------------------------


@dataclass
class Pieces:
    """The pieces export as rows of text: its E and L title lines, then the documents."""

    records: list[list[str]]

    def titles(self, row_type: str) -> list[str]:
        return next(r[1:] for r in self.records if r[0] == row_type)

    def documents(self) -> list[dict[str, str]]:
        head = self.titles("E")
        return [dict(zip(head, r[1:], strict=False)) for r in self.records[2:] if r[0] == "E"]

    def append(self, head: dict[str, str], lines: list[dict[str, str]]) -> None:
        self.records.append(["E", *(head.get(t, "") for t in self.titles("E"))])
        self.records += [["L", *(ln.get(t, "") for t in self.titles("L"))] for ln in lines]


def read_pieces(folder: Path, layout: Layout | None = None) -> Pieces:
    layout = layout or default_layout()
    data = (folder / FILES["pieces"]).read_bytes()
    return Pieces(_parse(data, layout.encoding, layout.delimiter, layout.quote))


def write_pieces(folder: Path, pieces: Pieces, layout: Layout | None = None) -> None:
    layout = layout or default_layout()
    path = folder / FILES["pieces"]
    partial = path.with_suffix(".partial")
    partial.write_bytes(encode(pieces.records, layout))
    partial.replace(path)


def _decimal(text: str) -> Decimal:
    return Decimal((text or "0").replace(" ", "").replace(",", ".").rstrip("%") or "0")


def price_devis(
    head: dict[str, str], lines: list[dict[str, str]], clients: Export, articles: Export,
    pieces: Pieces,
) -> tuple[dict[str, str], list[dict[str, str]]]:  # fmt: skip
    """The stand-in's pricing of an imported devis (real Sage 50 FR applies its own tarifs: price
    categories, quantity tariffs, promotions): each line at the article's Prix de vente HT less
    the client's Taux de remise, Montant HT rounded per line to the cent, the article's Taux TVA
    and its TVA rounded per line; totals their sums. Raises ValueError with Sage's reason."""
    client = clients.find(Code=head.get("Code client", ""))
    if client is None:
        raise ValueError(f"client {head.get('Code client')!r} inconnu")
    remise = _decimal(client.get("Taux de remise", ""))
    priced, net_total, tax_total = [], Decimal("0.00"), Decimal("0.00")
    for n, line in enumerate(lines, 1):
        article = articles.find(**{"Code article": line.get("Code article", "")})
        if article is None:
            raise ValueError(f"ligne {n} : article {line.get('Code article')!r} inconnu")
        quantity = _decimal(line.get("Quantité", ""))
        if quantity <= 0:
            raise ValueError(f"ligne {n} : quantité {line.get('Quantité')!r}")
        price, rate = _decimal(article["Prix de vente HT"]), _decimal(article["Taux TVA"])
        net = money(quantity * price * (100 - remise) / 100)
        net_total += net
        tax_total += money(net * rate / 100)
        priced.append({
            "Code article": article["Code article"], "Désignation": article["Désignation"],
            "Quantité": french(quantity), "PU HT": french(money(price)),
            "Remise (%)": french(remise), "Montant HT": french(net),
            "Taux TVA": article["Taux TVA"], "Code dépôt": article.get("Code dépôt", ""),
        })  # fmt: skip
    numbers = [int(m.group(1)) for d in pieces.documents()
               if (m := re.fullmatch(r"DE(\d+)", d.get("N° pièce", "")))]  # fmt: skip
    done = {
        **head, "Type de pièce": "Devis", "N° pièce": f"DE{max(numbers, default=0) + 1:05d}",
        "Nom client": client.get("Nom", ""), "Total HT": french(net_total),
        "Total TVA": french(tax_total), "Total TTC": french(net_total + tax_total),
        "Frais de port HT": "0,00", "TVA port": "0,00", "Validée": "Non", "Comptabilisée": "Non",
        "Soldée": "Non", "Statut devis": "En cours", "Devise": "EUR",
    }  # fmt: skip
    return done, priced


def import_files(
    import_dir: Path, export_dir: Path, layout: Layout | None = None,
    imports: ImportLayout | None = None,
) -> Imported:  # fmt: skip
    """Sage imports every import file of `import_dir` (see the module) into the export files."""
    layout = layout or default_layout()
    imports = imports or load_imports(layout)
    done = Imported()
    files = sorted(p for p in import_dir.glob("*.txt") if imports.kind_of(p.name)) if (
        import_dir.is_dir()) else []  # fmt: skip
    if not files:
        return done
    exports = {k: read_export(export_dir, k, layout) for k in ("clients", "prospects", "contacts")}
    today = date_fr(dt.date.today())
    pieces: Pieces | None = None
    for path in files:
        kind = imports.kind_of(path.name)
        assert kind is not None
        records = _parse(path.read_bytes(), imports.encoding, imports.delimiter, imports.quote)
        if kind.line_table is not None:  # devis: E rows, each followed by its L rows
            pieces = pieces or read_pieces(export_dir, layout)
            _import_devis(records, exports["clients"], read_export(export_dir, "articles", layout),
                          pieces, done)  # fmt: skip
            (import_dir / IMPORTED).mkdir(exist_ok=True)
            path.replace(import_dir / IMPORTED / path.name)
            done.files.append(path.name)
            continue
        titles = records[0]
        for record in records[1:]:
            values = dict(zip(titles, record, strict=False))
            if kind.name == "contacts":
                key = {_title(layout, "contacts", n): values.get(_title(layout, "contacts", n), "")
                       for n in ("code_client", "nom", "prenom")}  # fmt: skip
                target, row = exports["contacts"], exports["contacts"].find(**key)
                label = "/".join(key.values())
            else:
                code_title = _title(layout, kind.name, "code")
                code = values.get(code_title, "").strip().upper()
                if not code:  # Sage numbers a new record itself
                    code = _next_code(kind.name, exports["clients"], exports["prospects"],
                                      code_title=code_title)  # fmt: skip
                    values[code_title] = code
                found = [(e, e.find(**{code_title: code})) for e in
                         (exports["clients"], exports["prospects"])]  # fmt: skip
                target, row = next(((e, r) for e, r in found if r is not None),
                                   (exports[kind.name], None))  # fmt: skip
                label = code
            if row is None:
                row = dict.fromkeys(target.titles, "")
                if "Date de création" in row:
                    row["Date de création"] = today
                target.rows.append(row)
                done.created.append(f"{target.kind} {label}")
            else:
                done.updated.append(f"{target.kind} {label}")
            row.update({t: v for t, v in values.items() if t in target.titles})
        (import_dir / IMPORTED).mkdir(exist_ok=True)
        path.replace(import_dir / IMPORTED / path.name)
        done.files.append(path.name)
    for export in exports.values():
        write_export(export_dir, export, layout)
    if pieces is not None:
        write_pieces(export_dir, pieces, layout)
    return done


def _import_devis(
    records: list[list[str]], clients: Export, articles: Export, pieces: Pieces, done: Imported
) -> None:
    """Each devis of an import file priced and added to the pieces export, or refused whole."""
    head_titles = next(r[1:] for r in records if r[0] == "E")
    line_titles = next(r[1:] for r in records if r[0] == "L")
    documents: list[tuple[dict[str, str], list[dict[str, str]]]] = []
    for record in records[2:]:
        if record[0] == "E":
            documents.append((dict(zip(head_titles, record[1:], strict=False)), []))
        elif record[0] == "L" and documents:
            documents[-1][1].append(dict(zip(line_titles, record[1:], strict=False)))
    for head, lines in documents:
        reference = head.get("Réf. commande", "")
        try:
            priced_head, priced_lines = price_devis(head, lines, clients, articles, pieces)
        except ValueError as exc:
            done.refused.append(f"devis {reference}: {exc}")
            continue
        pieces.append(priced_head, priced_lines)
        done.created.append(f"pieces {priced_head['N° pièce']}")


# --- what a person does in Sage 50 FR ------------------------------------------------------------


def edit(export_dir: Path, kind: str, code: str, **by_title: str) -> None:
    """A record edited in Sage (by column title), seen in the next export."""
    export = read_export(export_dir, kind)
    row = export.find(**{export.titles[0]: code})
    if row is None:
        raise KeyError(f"no {kind} {code}")
    row.update(by_title)
    write_export(export_dir, export)


def convert(export_dir: Path, code: str) -> None:
    """A prospect converted into a client in Sage: the same record, now in the clients file."""
    prospects, clients = read_export(export_dir, "prospects"), read_export(export_dir, "clients")
    row = prospects.find(**{prospects.titles[0]: code})
    if row is None:
        raise KeyError(f"no prospect {code}")
    prospects.rows.remove(row)
    clients.rows.append({t: row.get(t, "") for t in clients.titles})
    write_export(export_dir, clients)
    write_export(export_dir, prospects)


def delete(export_dir: Path, kind: str, code: str) -> None:
    """A record deleted in Sage: absent from the next export (and its contacts with it)."""
    export = read_export(export_dir, kind)
    export.rows = [r for r in export.rows if fold(r.get(export.titles[0], "")) != fold(code)]
    write_export(export_dir, export)
    contacts = read_export(export_dir, "contacts")
    contacts.rows = [r for r in contacts.rows if fold(r.get("Code client", "")) != fold(code)]
    write_export(export_dir, contacts)
