"""The Sage 50 source (SQL text for the driver, the connections that run it) and the Sage
writer (Sage Data Objects), the only code that writes Sage."""

from resources.sage.source import (
    OdbcConnection,
    SageConnection,
    SageSourceError,
    SageSourceResource,
    SqlAlchemyConnection,
    mask_secrets,
)
from resources.sage.sql import SageSelect, literal, render
from resources.sage.writer import (
    FieldInfo,
    RetryPolicy,
    SageWriteError,
    SageWriter,
    SageWriterResource,
    dispatch,
)

__all__ = [
    "FieldInfo",
    "OdbcConnection",
    "RetryPolicy",
    "SageConnection",
    "SageSelect",
    "SageSourceError",
    "SageSourceResource",
    "SageWriteError",
    "SageWriter",
    "SageWriterResource",
    "SqlAlchemyConnection",
    "dispatch",
    "literal",
    "mask_secrets",
    "render",
]
