"""The generator's RNG: `random.Random` with the hot draws done in one call instead of three."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TypeVar

T = TypeVar("T")


class DemoRandom(Random):
    """Same seed, same draws as `random.Random` (CPython's getrandbits rejection sampling, as in
    `Random._randbelow_with_getrandbits`), so the output does not change; `randint`, `choice`
    and one-argument `randrange` just skip the generic argument checks the generator never needs.
    """

    def randint(self, a: int, b: int) -> int:
        n = b - a + 1
        if n <= 0:
            raise ValueError(f"empty range for randint({a}, {b})")
        getrandbits = self.getrandbits
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return a + r

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        if stop is not None or step != 1 or start <= 0:
            return super().randrange(start, stop, step)
        getrandbits = self.getrandbits
        k = start.bit_length()
        r = getrandbits(k)
        while r >= start:
            r = getrandbits(k)
        return r

    def choice(self, seq: Sequence[T]) -> T:
        n = len(seq)
        if not n:
            raise IndexError("Cannot choose from an empty sequence")
        getrandbits = self.getrandbits
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return seq[r]


__all__ = ["DemoRandom"]
