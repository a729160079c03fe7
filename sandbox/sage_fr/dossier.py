"""A demo Sage 50 FR dossier, written as Sage 50 FR's export files would be.

French clients, prospects and their contacts, articles at TVA 20 %, 10 %, 5,5 % and 0 %, in EUR,
and sales documents as E/L rows: factures (posted, some settled, some part-paid with a "Reste
dû", one not posted), an avoir, bons de commande and devis. The files follow the declared layout
(assets/fr/layout.yaml) column by column: Windows-1252, tabs, CRLF, French decimal commas and
dd/mm/yyyy dates, a value holding a tab quoted. Deterministic for a seed.

Totals are Sage's: each line's TVA is its net times its rate, rounded per line; a document's
totals are the sums of its lines plus its carriage.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from assets.fr.layout import Layout, default_layout

SIZES = {
    "small": (8, 3, 12, 30),
    "large": (400, 60, 300, 3000),
}  # clients, prospects, articles, docs
CENT = Decimal("0.01")
FILES = {
    "clients": "Export des clients.txt",
    "prospects": "Export des prospects.txt",
    "contacts": "Export des contacts.txt",
    "articles": "Export des articles.txt",
    "pieces": "Export des pièces de vente.txt",
}

_SOCIETES = ["Boulangerie", "Quincaillerie", "Librairie", "Menuiserie", "Pharmacie", "Fromagerie",
             "Garage", "Imprimerie", "Brasserie", "Épicerie", "Fleuriste", "Cave à vins"]  # fmt: skip
_NOMS = ["Dupont", "Lefèvre", "Moreau", "Girard", "Mercier", "Bonnet", "Rousseau", "Faure",
         "Chevalier", "François", "Gauthier", "Perrin", "Clément", "Lemaître", "Bérenger"]  # fmt: skip
_PRENOMS = ["Marie", "Jean", "Hélène", "Luc", "Céline", "Benoît", "Amélie", "Noël", "Chloé",
            "Jérôme", "Inès", "Théo"]  # fmt: skip
_VILLES = [("Paris", "75002"), ("Lyon", "69001"), ("Marseille", "13001"), ("Toulouse", "31000"),
           ("Nantes", "44000"), ("Orléans", "45000"), ("Besançon", "25000"), ("Nîmes", "30000"),
           ("Angers", "49000"), ("Créteil", "94000")]  # fmt: skip
_RUES = ["rue de la Paix", "avenue Jean Jaurès", "place de l'Église", "boulevard Gambetta",
         "rue du Général Leclerc", "allée des Châtaigniers", "quai Saint-Éloi"]  # fmt: skip
_FONCTIONS = ["Gérant", "Comptable", "Responsable achats", "Assistante de direction"]
_REPRESENTANTS = ["Sophie Marchand", "Julien Roche", "Élodie Vasseur"]
# (désignation, rate, price, stocked): food at 5,5 %, catering 10 %, books 5,5 %, exports 0 %
_ARTICLES = [
    ("Chaise bistrot chêne", "20", "89.00", True), ("Table ronde 80 cm", "20", "245.50", True),
    ("Farine T65 sac 25 kg", "5.5", "18.90", True), ("Café grains 1 kg", "5.5", "21.40", True),
    ("Plateau repas traiteur", "10", "14.50", False), ("Livre « Recettes »", "5.5", "24.00", True),
    ("Installation sur site", "20", "120.00", False), ("Expédition hors UE", "0", "35.00", False),
    ("Lampe suspension laiton", "20", "132.00", True), ("Vin rouge AOC carton 6", "20", "54.60", True),
    ("Formation utilisateur (jour)", "20", "650.00", False), ("Confiture abricot 370 g", "5.5", "4.35", True),
]  # fmt: skip
_FAMILLES = {"20": ("MOB", "Mobilier et équipement"), "5.5": ("ALIM", "Alimentaire et livres"),
             "10": ("REST", "Restauration"), "0": ("SERV", "Services export")}  # fmt: skip


def money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def french(x: Decimal | int | None) -> str:
    """1234.5 -> "1234,50"; a rate 5.5 -> "5,5"."""
    if x is None:
        return ""
    text = f"{x:.2f}" if isinstance(x, Decimal) and x.as_tuple().exponent == -2 else str(x)
    return text.replace(".", ",")


def date_fr(d: dt.date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


@dataclass
class Line:
    article: str | None
    designation: str
    quantity: Decimal
    unit_price: Decimal
    rate: Decimal

    @property
    def net(self) -> Decimal:
        return money(self.quantity * self.unit_price)

    @property
    def tax(self) -> Decimal:
        return money(self.net * self.rate / 100)


@dataclass
class Piece:
    type: str  # Facture, Avoir, Bon de commande, Devis
    number: str
    date: dt.date
    client: str
    lines: list[Line] = field(default_factory=list)
    carriage: Decimal = Decimal("0.00")  # HT, at 20 %
    posted: bool = True
    settled: bool = False
    outstanding: Decimal | None = None  # "Reste dû", None: not exported (settled or not)
    due: dt.date | None = None

    @property
    def carriage_tax(self) -> Decimal:
        return money(self.carriage * Decimal("0.2"))

    @property
    def total_net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0.00")) + self.carriage

    @property
    def total_tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal("0.00")) + self.carriage_tax

    @property
    def total_gross(self) -> Decimal:
        return self.total_net + self.total_tax


@dataclass
class Dossier:
    clients: list[dict[str, str]]
    prospects: list[dict[str, str]]
    contacts: list[dict[str, str]]
    articles: list[dict[str, str]]
    pieces: list[Piece]


def build(size: str = "small", seed: int = 1) -> Dossier:
    n_clients, n_prospects, n_articles, n_docs = SIZES[size]
    rnd = random.Random(seed)

    def account(code: str, i: int) -> dict[str, str]:
        ville, cp = rnd.choice(_VILLES)
        nom = rnd.choice(_NOMS)
        societe = f"{rnd.choice(_SOCIETES)} {nom}"
        if i % 5 == 0:
            societe += " & Fils"
        adresse = f"{rnd.randint(1, 140)} {rnd.choice(_RUES)}"
        if i == 1:
            adresse += "\tBât. B"  # a tab inside a value: Sage quotes it
        return {
            "Code": code, "Nom": societe, "Société": societe, "Adresse 1": adresse,
            "Adresse 2": "", "Adresse 3": "", "Code postal": cp, "Ville": ville, "Pays": "France",
            "Téléphone": f"0{rnd.randint(1, 5)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} "
                         f"{rnd.randint(10, 99)} {rnd.randint(10, 99)}",
            "E-mail": f"contact@{nom.lower().replace('è', 'e').replace('ç', 'c')}{i}.fr",
            "SIRET": f"{rnd.randint(10**13, 10**14 - 1)}", "N° TVA intracommunautaire": "",
            "Mode de règlement": rnd.choice(["VIR", "CHQ", "CB", "PRVT"]),
            "Représentant": rnd.choice(_REPRESENTANTS),
            "Taux de remise": "5" if i % 4 == 0 else "0",
            "Code tarif": "", "Bloqué": "Oui" if i % 7 == 6 else "Non", "En sommeil": "Non",
            "Date de création": date_fr(dt.date(2020, 1, 1) + dt.timedelta(days=i * 17)),
        }  # fmt: skip

    clients = [account(f"CL{i:05d}", i) for i in range(1, n_clients + 1)]
    prospects = [account(f"PR{i:05d}", i) for i in range(1, n_prospects + 1)]
    contacts = []
    for a in clients + prospects:
        for k in range(1 + (int(a["Code"][-1]) % 2)):
            prenom = _PRENOMS[(len(contacts) + k) % len(_PRENOMS)]
            nom = _NOMS[(len(contacts) * 3 + k) % len(_NOMS)]
            contacts.append({
                "Code client": a["Code"], "Civilité": "M." if k else "Mme", "Nom": nom,
                "Prénom": prenom, "Fonction": _FONCTIONS[len(contacts) % len(_FONCTIONS)],
                "Téléphone": a["Téléphone"], "Portable": "",
                "E-mail": f"{prenom.lower()[0]}.{len(contacts)}@exemple.fr",
            })  # fmt: skip
    articles = []
    for i in range(n_articles):
        designation, rate, price, stocked = _ARTICLES[i % len(_ARTICLES)]
        famille, libelle = _FAMILLES[rate]
        stock = Decimal(rnd.randint(0, 200)) if stocked else None
        articles.append({
            "Code article": f"ART{i + 1:04d}", "Désignation": designation if i < len(_ARTICLES)
            else f"{designation} ({i // len(_ARTICLES) + 1})", "Famille": famille,
            "Libellé famille": libelle, "Prix de vente HT": french(Decimal(price)),
            "Prix d'achat HT": french(money(Decimal(price) * Decimal("0.55"))),
            "Taux TVA": french(Decimal(rate)), "Suivi de stock": "Oui" if stocked else "Non",
            "Stock réel": french(stock), "Stock réservé": french(
                Decimal(rnd.randint(0, int(stock))) if stock else None),
            "Code dépôt": "DEP1" if stocked else "", "Unité de vente": "U", "Code barre": "",
            "Poids": "", "En sommeil": "Oui" if i == n_articles - 1 else "Non", "Image": "",
        })  # fmt: skip
    pieces = []
    counters: dict[str, int] = {}
    prefix = {"Facture": "FA", "Avoir": "AV", "Bon de commande": "BC", "Devis": "DE"}
    types = ["Facture"] * 6 + ["Avoir", "Bon de commande", "Bon de commande", "Devis"]
    for i in range(n_docs):
        kind = types[i % len(types)]
        counters[kind] = counters.get(kind, 0) + 1
        day = dt.date(2024, 1, 2) + dt.timedelta(days=(i * 7) % 360)
        piece = Piece(kind, f"{prefix[kind]}{counters[kind]:05d}", day,
                      clients[i % len(clients)]["Code"])  # fmt: skip
        for _ in range(1 + i % 3):
            a = articles[rnd.randrange(len(articles))]
            piece.lines.append(
                Line(a["Code article"], a["Désignation"], Decimal(rnd.randint(1, 12)),
                     Decimal(a["Prix de vente HT"].replace(",", ".")),
                     Decimal(a["Taux TVA"].replace(",", ".")))
            )  # fmt: skip
        if i % 5 == 0:
            piece.lines.append(Line(None, "Remarque : livraison sur rendez-vous", Decimal(0),
                                    Decimal(0), Decimal(0)))  # fmt: skip
        if i % 4 == 1:
            piece.carriage = Decimal("15.00")
        if kind in ("Facture", "Avoir"):
            piece.due = day + dt.timedelta(days=30)
            piece.posted = not (kind == "Facture" and counters[kind] % 6 == 0)
            state = counters[kind] % 3
            piece.settled = state == 0
            if state == 2:  # part-paid: a third still due
                piece.outstanding = money(piece.total_gross / 3)
        pieces.append(piece)
    return Dossier(clients, prospects, contacts, articles, pieces)


def _table(layout: Layout, kind: str, rows: list[dict[str, str]]) -> list[list[str]]:
    titles = [c.title for c in layout.kind(kind).rows[0].table.file_columns]
    return [titles, *([row.get(t, "") for t in titles] for row in rows)]


def _piece_rows(layout: Layout, pieces: list[Piece]) -> list[list[str]]:
    head, line = (r.table.file_columns for r in layout.kind("pieces").rows)
    out = [["E", *(c.title for c in head)], ["L", *(c.title for c in line)]]
    for p in pieces:
        values = {
            "Type de pièce": p.type, "N° pièce": p.number, "Date pièce": date_fr(p.date),
            "Code client": p.client, "Nom client": "", "Code représentant pièce": "",
            "Code mode de paiement": "VIR", "Date échéance": date_fr(p.due),
            "Réf. commande": f"CDE-{p.number}" if p.type == "Bon de commande" else "",
            "Total HT": french(p.total_net), "Total TVA": french(p.total_tax),
            "Total TTC": french(p.total_gross), "Frais de port HT": french(p.carriage),
            "TVA port": french(p.carriage_tax), "Validée": "Oui",
            "Comptabilisée": "Oui" if p.posted else "Non", "Soldée": "Oui" if p.settled else "Non",
            "Reste dû": french(p.outstanding), "Statut devis": "En cours" if p.type == "Devis" else "",
            "Devise": "EUR",
        }  # fmt: skip
        out.append(["E", *(values.get(c.title, "") for c in head)])
        for ln in p.lines:
            values = {
                "Code article": ln.article or "", "Désignation": ln.designation,
                "Quantité": french(ln.quantity), "PU HT": french(ln.unit_price), "Remise (%)": "0",
                "Montant HT": french(ln.net), "Taux TVA": french(ln.rate), "Code dépôt": "",
            }  # fmt: skip
            out.append(["L", *(values.get(c.title, "") for c in line)])
    return out


def encode(rows: list[list[str]], layout: Layout) -> bytes:
    """Rows as Sage 50 FR writes a text export: tab-separated, CRLF, Windows-1252."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=layout.delimiter, quotechar=layout.quote,
                        lineterminator="\r\n")  # fmt: skip
    writer.writerows(rows)
    return buffer.getvalue().encode(layout.encoding)


def write(folder: Path, dossier: Dossier, layout: Layout | None = None) -> dict[str, Path]:
    """Write the dossier's export files into `folder`; each file appears whole (written beside,
    then renamed) so a reader never sees it half-written."""
    layout = layout or default_layout()
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "clients": _table(layout, "clients", dossier.clients),
        "prospects": _table(layout, "prospects", dossier.prospects),
        "contacts": _table(layout, "contacts", dossier.contacts),
        "articles": _table(layout, "articles", dossier.articles),
        "pieces": _piece_rows(layout, dossier.pieces),
    }
    written = {}
    for kind, rows in contents.items():
        path = folder / FILES[kind]
        partial = path.with_suffix(".partial")
        partial.write_bytes(encode(rows, layout))
        partial.replace(path)
        written[kind] = path
    return written


def generate(folder: Path, size: str = "small", seed: int = 1) -> Dossier:
    dossier = build(size, seed)
    write(folder, dossier)
    return dossier
