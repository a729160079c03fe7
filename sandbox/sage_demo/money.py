"""Money in integer pence, rounded half up like Sage; dates and timestamps as Sage's ODBC text."""

from __future__ import annotations

from datetime import date

_BASIS_POINTS: dict[float, int] = {}


def pct(amount: int, rate: float) -> int:
    """`rate` % of `amount` pence, rounded half up to the penny."""
    if not rate:
        return 0
    basis_points = _BASIS_POINTS.get(rate)
    if basis_points is None:
        basis_points = _BASIS_POINTS[rate] = round(rate * 100)
    return (amount * basis_points + 5_000) // 10_000


def to_base(foreign: int, rate: float) -> int:
    """Foreign-currency pence to base (GBP) pence at `rate` units per GBP, half up."""
    if rate == 1.0:
        return foreign
    return int(foreign / rate + 0.5)


def gbp(pence: int) -> float:
    """Pence as the DOUBLE pounds the Sage driver hands out.

    An integer divided by 100 is already the double nearest the 2-dp decimal, so no round()."""
    return pence / 100


def day(d: date) -> str:
    return d.isoformat()


def stamp(d: date, seconds: int) -> str:
    """'YYYY-MM-DD HH:MM:SS', `seconds` after midnight of `d`."""
    seconds = max(0, min(seconds, 86_399))
    return f"{d.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
