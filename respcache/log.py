"""Logging in Redis's format, on top of the stdlib :mod:`logging` module.

Every line looks like redis-server's::

    4311:M 25 Nov 2026 02:52:43.312 * Ready to accept connections tcp

``pid:role``, the local time with milliseconds, a level mark and the message. The role
is ``M`` on the leader (master), ``S`` on a replica and ``C`` in a child process
(:func:`set_role`); the marks are ``.`` debug, ``-`` verbose, ``*`` notice and ``#``
warning. Redis's levels map onto Python's: debug=DEBUG, verbose=:data:`VERBOSE` (15),
notice=INFO, warning=WARNING.

Modules log through ``logging.getLogger("respcache.<module>")``; :func:`setup_logging`
installs one handler on the ``respcache`` logger, writing to stderr or ``logfile``, and
follows ``CONFIG SET loglevel``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from respcache.config import Config

__all__ = [
    "LEVELS",
    "VERBOSE",
    "RedisFormatter",
    "get_role",
    "reset_logging",
    "set_role",
    "setup_logging",
]

VERBOSE = 15
"""Redis's ``verbose`` level, between DEBUG and INFO."""
logging.addLevelName(VERBOSE, "VERBOSE")

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "verbose": VERBOSE,
    "notice": logging.INFO,
    "warning": logging.WARNING,
}
"""Redis ``loglevel`` names to Python logging levels."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ROLES = frozenset("MSCX")

_role = "M"
_handler: logging.Handler | None = None
_followed: Config | None = None


def set_role(role: str) -> None:
    """Set the role character of every following line: M (leader), S (replica), C (child)."""
    global _role
    if role not in _ROLES:
        raise ValueError(f"role must be one of M, S, C, X, not {role!r}")
    _role = role


def get_role() -> str:
    return _role


def _mark(levelno: int) -> str:
    if levelno < VERBOSE:
        return "."
    if levelno < logging.INFO:
        return "-"
    if levelno < logging.WARNING:
        return "*"
    return "#"


class RedisFormatter(logging.Formatter):
    """``pid:R DD Mon YYYY HH:MM:SS.mmm <mark> message`` (local time, English month names)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        return f"{os.getpid()}:{_role} {self.formatTime(record)} {_mark(record.levelno)} {message}"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        t = time.localtime(record.created)
        millis = int(record.msecs)
        return (
            f"{t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}"
        )


def setup_logging(config: Config) -> None:
    """Send the ``respcache`` loggers to stderr or ``config.logfile`` at ``config.loglevel``.

    Safe to call again (the previous handler is replaced). The log file is opened in
    append mode and reopened if it is moved away (logrotate), as Redis reopens it for
    every line. ``CONFIG SET loglevel`` takes effect immediately.
    """
    global _handler, _followed
    logger = logging.getLogger("respcache")
    handler: logging.Handler
    if config.logfile:
        handler = logging.handlers.WatchedFileHandler(config.logfile, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedisFormatter())
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler.close()
    _handler = handler
    logger.addHandler(handler)
    logger.setLevel(LEVELS[config.loglevel])
    if _followed is not config:
        _followed = config
        config.on_change("loglevel", _follow_loglevel(config))


def reset_logging() -> None:
    """Remove the handler :func:`setup_logging` installed (tests, embedding) and stop following."""
    global _handler, _followed
    if _handler is not None:
        logging.getLogger("respcache").removeHandler(_handler)
        _handler.close()
    _handler = None
    _followed = None


def _follow_loglevel(config: Config) -> Callable[[object], None]:
    def follow(value: object) -> None:
        if _followed is config and isinstance(value, str):
            logging.getLogger("respcache").setLevel(LEVELS[value])

    return follow
