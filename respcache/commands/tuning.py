"""Keeps the store's encoding thresholds (:mod:`respcache.store.encoding`) in step with
the configuration: applied when an engine starts and after every CONFIG SET of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from respcache.store.encoding import LIMITS

if TYPE_CHECKING:
    from respcache.config import Config

__all__ = ["follow"]

_SETTINGS = (
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "set-max-intset-entries",
)


def follow(config: Config) -> None:
    """Apply ``config``'s thresholds now and whenever they change."""
    for name in _SETTINGS:
        attribute = name.replace("-", "_")

        def apply(value: object, attribute: str = attribute) -> None:
            assert isinstance(value, int)
            setattr(LIMITS, attribute, value)

        apply(config.get(name))
        config.on_change(name, apply)
