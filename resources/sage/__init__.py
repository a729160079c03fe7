"""The Sage 50 source: SQL text for the driver, and the connections that run it."""

from resources.sage.source import (
    OdbcConnection,
    SageConnection,
    SageSourceError,
    SageSourceResource,
    SqlAlchemyConnection,
    mask_secrets,
)
from resources.sage.sql import SageSelect, literal, render

__all__ = [
    "OdbcConnection",
    "SageConnection",
    "SageSelect",
    "SageSourceError",
    "SageSourceResource",
    "SqlAlchemyConnection",
    "literal",
    "mask_secrets",
    "render",
]
