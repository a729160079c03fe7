"""One object shared by every step of a Dagster run: a warehouse connection, an SSM client.

With the in-process executor a resource is set up once per run, so what it opens can outlive a
step: the first use opens it, later uses get the same one, and the run's end closes it. Outside a
run (tests, scripts) nothing is shared and the resource opens and closes per use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any, TypeVar

T = TypeVar("T")


class RunScope:
    """The shared object of one resource, kept between `open` (run start) and `close` (run end)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._active = False
        self._stack: ExitStack | None = None
        self._value: Any = None

    @property
    def active(self) -> bool:
        """True inside a run: `shared` keeps what it opens until `close`."""
        return self._active

    def open(self) -> None:
        self._active = True

    def close(self) -> None:
        self._active = False
        self.release()

    def release(self) -> None:
        """Close what is shared now; the run goes on and the next `shared` opens it again."""
        with self._guard:
            stack, self._stack, self._value = self._stack, None, None
        if stack is not None:
            stack.close()

    def shared(self, opener: Callable[[], AbstractContextManager[T]]) -> T:
        """What `opener()` enters, entered on first use and held until `close`."""
        with self._guard:
            if self._stack is None:
                stack = ExitStack()
                self._value = stack.enter_context(opener())
                self._stack = stack
            return self._value
