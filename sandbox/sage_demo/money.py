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


# Text forms are cached: ten years hold ~3,700 days, and the same few dates and times of day
# are formatted over and over on `large`.
DAY_TEXT: dict[date, str] = {}
_TIME_TEXT: dict[int, str] = {}


def day(d: date) -> str:
    text = DAY_TEXT.get(d)
    if text is None:
        text = DAY_TEXT[d] = d.isoformat()
    return text


def clock(seconds: int) -> str:
    """'HH:MM:SS' for `seconds` after midnight (clamped to the day)."""
    text = _TIME_TEXT.get(seconds)
    if text is None:
        s = max(0, min(seconds, 86_399))
        text = _TIME_TEXT[seconds] = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return text


def stamp(d: date, seconds: int) -> str:
    """'YYYY-MM-DD HH:MM:SS', `seconds` after midnight of `d`."""
    return (DAY_TEXT.get(d) or day(d)) + " " + (_TIME_TEXT.get(seconds) or clock(seconds))
