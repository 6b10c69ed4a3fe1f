"""The thresholds of Redis's compact encodings, as live settings.

Redis keeps small hashes and sorted sets in a listpack and small integer sets in an
intset, and converts them for good once they outgrow ``hash-max-listpack-entries``/
``-value``, ``zset-max-listpack-entries``/``-value`` or ``set-max-intset-entries``
(``t_hash.c:hashTypeTryConversion``, ``t_zset.c:zsetTypeMaybeConvert``,
``t_set.c:setTypeAdd``). respcache does not store them differently, but the encoding is
visible (OBJECT ENCODING, the order of HSCAN/ZSCAN/SSCAN and of the random commands,
integral listpack scores), so the conversion points follow the same settings.

The values are process-wide, as Redis's ``server.*_max_*`` are: the store's value types
read them at the moment of a change, and the server keeps them in step with CONFIG SET
(:func:`respcache.commands.tuning.follow`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LIMITS", "EncodingLimits"]


@dataclass(slots=True)
class EncodingLimits:
    """Redis 7.0's defaults; changed only through configuration."""

    hash_max_listpack_entries: int = 512
    hash_max_listpack_value: int = 64
    zset_max_listpack_entries: int = 128
    zset_max_listpack_value: int = 64
    set_max_intset_entries: int = 512


LIMITS = EncodingLimits()
