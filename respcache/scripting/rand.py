"""Redis's ``redisLrand48`` (src/rand.c): the generator behind ``math.random`` in scripts.

A 48-bit linear congruential generator (the classic ``lrand48``: multiplier
0x5DEECE66D, increment 0xB, initial state 0x1234ABCD330E), so the same
sequence comes out on every platform and in every run, as in Redis 7.0 where
the state starts once at server start and ``math.randomseed`` reseeds it.
"""

from __future__ import annotations

_MASK = (1 << 48) - 1
_A = 0x5DEECE66D
_C = 0xB
_INITIAL = 0x1234ABCD330E

LRAND48_MAX = 2**31 - 1
"""REDIS_LRAND48_MAX (INT32_MAX)."""


class Rand48:
    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = _INITIAL

    def seed(self, seed: int) -> None:
        """redisSrand48: the seed's 32 bits above the fixed low word 0x330E."""
        self.state = ((seed & 0xFFFFFFFF) << 16) | 0x330E

    def next(self) -> int:
        """redisLrand48() % REDIS_LRAND48_MAX: 0 <= n < 2**31 - 1."""
        self.state = (_A * self.state + _C) & _MASK
        return (self.state >> 17) % LRAND48_MAX
