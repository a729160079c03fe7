"""Building SSM ``where`` filters safely.

SSM's ``where`` query parameter is a SQL-like expression (``=``, ``<>``, ``>``, ``<``, ``>=``,
``<=``, ``LIKE``, ``NOT LIKE``, ``IN``, ``NOT IN``, ``IS NULL``, ``AND``, ``OR``, parentheses). String literals
are single-quoted; a quote inside a literal is doubled (``O''Brien``), the SQL standard escape.
Backslashes are ordinary characters in standard SQL and are passed through unchanged.
Every value that reaches a filter goes through :func:`quote`; every field name is checked
against ``[A-Za-z_][A-Za-z0-9_.]*`` (``typeId.id`` filters a foreign key), so no caller input
can change the shape of the expression.

Dates: the literal format SSM expects is UNCONFIRMED (samples show ``2021-01-01T00:00:00`` and
``2021-01-01 00:00:00``). :data:`DEFAULT_DATE_FORMAT` is the ISO form; callers can pass another
``strftime`` format (the setting SSM_WHERE_DATE_FORMAT, checked by :func:`checked_date_format`).
Datetimes are converted to UTC (naive ones are taken as UTC already).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

DEFAULT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

Literal = str | int | float | bool | None | datetime | date

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def checked_date_format(date_format: str) -> str:
    """Return ``date_format`` if it is a ``strftime`` format that writes a whole date, else raise
    ``ValueError`` saying why.

    Two dates that differ in year, month and day must render differently and read back as
    the same day, so a typo (``%Y-%m-%D``, ``%-d`` where the platform has no such directive,
    no directive at all) fails at start-up, not as a filter that silently matches everything.
    A format may stop at minutes or at the day: the cutoff is then rounded down (more read).
    """
    samples = (datetime(2001, 2, 3, 4, 5, 6), datetime(2019, 11, 28, 21, 43, 59))
    try:
        texts = [sample.strftime(date_format) for sample in samples]
        days = [datetime.strptime(text, date_format).date() for text in texts]
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{date_format!r} is not a strftime date format this platform can write and read "
            f"back ({exc}); the default is {DEFAULT_DATE_FORMAT!r}"
        ) from None
    if days != [sample.date() for sample in samples]:
        raise ValueError(
            f"{date_format!r} does not write the whole date (year, month and day); the default "
            f"is {DEFAULT_DATE_FORMAT!r}"
        )
    return date_format


def field_name(name: str) -> str:
    """Return ``name`` if it is a plain field path, else raise ``ValueError``."""
    if not isinstance(name, str) or not _FIELD.fullmatch(name) or ".." in name or name[-1] == ".":
        raise ValueError(f"not a valid SSM field name for a where filter: {name!r}")
    return name


def quote(value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    """Render ``value`` as an SSM where literal.

    Strings are single-quoted with ``'`` doubled; booleans are ``true``/``false`` (bool is checked
    before int, since ``True`` is an ``int``); ``None`` is ``null``; datetimes and dates are
    quoted in ``date_format`` (datetimes in UTC).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"SSM where filters cannot express {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return quote(value.strftime(date_format))
    if isinstance(value, date):
        return quote(value.strftime(date_format))
    if isinstance(value, str):
        if "\x00" in value:
            # A NUL byte would end the string early in most SQL engines: refuse it rather
            # than send a filter that means something else.
            raise ValueError("SSM where literals cannot contain a NUL character")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot use a {type(value).__name__} in an SSM where filter")


def _compare(field: str, operator: str, value: Literal, date_format: str) -> str:
    return f"{field_name(field)}{operator}{quote(value, date_format=date_format)}"


def eq(field: str, value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    return _compare(field, "=", value, date_format)


def ne(field: str, value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    return _compare(field, "<>", value, date_format)


def gt(field: str, value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    return _compare(field, ">", value, date_format)


def ge(field: str, value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    return _compare(field, ">=", value, date_format)


def lt(field: str, value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    return _compare(field, "<", value, date_format)


def le(field: str, value: Literal, *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    return _compare(field, "<=", value, date_format)


def like(field: str, pattern: str) -> str:
    return f"{field_name(field)} LIKE {quote(pattern)}"


def is_null(field: str) -> str:
    """``field IS NULL``: standard SQL, which the vendor's reference allows ("any SQL string
    parameter") though no sample shows it (a rep's new record has no extId; SSM's ``=`` and
    ``LIKE`` never match a null, as in SQL). A caller whose read SSM refuses (code 901) reads
    without it and filters after reading (assets/inbox/feed.py)."""
    return f"{field_name(field)} IS NULL"


def has_no_text(field: str) -> str:
    """The field is null or empty: SSM may store a missing text either way."""
    return or_(is_null(field), eq(field, ""))


def in_(field: str, values: Iterable[Literal], *, date_format: str = DEFAULT_DATE_FORMAT) -> str:
    """``field IN (v1, v2, ...)``; an empty list is refused (``IN ()`` is not valid SQL)."""
    literals = [quote(v, date_format=date_format) for v in values]
    if not literals:
        raise ValueError(f"in_({field!r}, ...) needs at least one value")
    return f"{field_name(field)} IN ({','.join(literals)})"


def and_(*clauses: str) -> str:
    """Join clauses with AND, each parenthesised so OR inside one cannot leak out."""
    return _join(" AND ", clauses)


def or_(*clauses: str) -> str:
    """Join clauses with OR, each parenthesised."""
    return _join(" OR ", clauses)


def _join(separator: str, clauses: tuple[str, ...]) -> str:
    parts = [c for c in clauses if c]
    if not parts:
        raise ValueError("a where combination needs at least one clause")
    if len(parts) == 1:
        return parts[0]
    return separator.join(f"({c})" for c in parts)
