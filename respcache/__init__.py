"""respcache: a Redis-protocol compatible, synchronously replicated cache."""

from respcache import _compiled

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
"""The Redis version whose behaviour respcache follows and reports in ``INFO``/``HELLO``."""

_compiled.install()  # compiled hot-path modules, or their sources when stale / RESPCACHE_PURE=1
