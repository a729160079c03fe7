"""One company's code location: `pipelines.location:<company>` (see pipelines/companies.py).

Dagster loads a location by module and attribute, in the code server and again in every run
worker; the attribute is the company's name, so this module gives the process that company's
environment before it imports the definitions (their asset keys and pools carry the name):

    dagster code-server start -m pipelines.location -a north -h 0.0.0.0 -p 4000
"""

from __future__ import annotations

from typing import Any

from pipelines import companies

_defs: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in _defs:
        companies.activate(name)
        from pipelines.definitions import defs

        _defs[name] = defs
    return _defs[name]
