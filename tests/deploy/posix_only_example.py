"""A module as the Windows import test must catch: it needs a POSIX-only standard module."""

import fcntl  # noqa: F401 - the point of this module
