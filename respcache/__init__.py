"""respcache: a Redis-protocol compatible, synchronously replicated cache."""

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
"""The Redis version whose behaviour respcache follows and reports in ``INFO``/``HELLO``."""
